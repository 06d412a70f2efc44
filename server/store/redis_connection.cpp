// hiredis's async API on the store's epoll loop. hiredis ships adapters for libevent, libev
// and others but not for a bare epoll, so this file is that adapter:
//   1. hiredis asks for read/write interest through the ev hooks; they set the epoll mask.
//      Write interest on a connected socket first tries the write at the end of the loop's
//      turn (all commands of the turn in one write); only what does not fit waits for
//      EPOLLOUT. A command costs no epoll_ctl and no extra turn.
//   2. epoll readiness calls redisAsyncHandleRead/Write, which run the reply callbacks.
//   3. When hiredis frees a context (error, EOF, failed connect or Close) it calls every
//      pending callback with a NULL reply and then the cleanup hook, which unwatches the fd
//      (before hiredis closes it) and posts on_closed.
#include "store/redis_connection.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sys/epoll.h>

namespace livefeed {

struct RedisConnection::Impl {
  RedisEventLoop& loop;
  redisAsyncContext* context = nullptr;  // Null once hiredis has freed it.
  RedisEventLoop::Handle watch = 0;
  bool reading = false, writing = false;
  std::uint32_t mask = 0;  // What epoll watches for.
  bool flush_scheduled = false;
  bool closed_reported = false;
  std::function<void()> on_connected;
  std::function<void(const std::string&)> on_closed;
  // Shared with posted tasks so that they can tell whether this object still exists.
  std::shared_ptr<Impl*> self = std::make_shared<Impl*>(this);

  explicit Impl(RedisEventLoop& l) : loop(l) {}

  void UpdateMask() {
    std::uint32_t events = 0;
    if (reading) events |= EPOLLIN;
    if (writing && !flush_scheduled) events |= EPOLLOUT;
    if (events == mask) return;
    mask = events;
    loop.Modify(watch, events);
  }

  void ScheduleFlush() {
    flush_scheduled = true;
    std::weak_ptr<Impl*> alive = self;
    loop.AtTurnEnd([alive] {
      auto impl = alive.lock();
      if (!impl) return;
      Impl& me = **impl;
      me.flush_scheduled = false;
      // Writes what it can; hiredis keeps write interest (EPOLLOUT then) for the rest.
      if (me.context && me.writing) redisAsyncHandleWrite(me.context);
      if (me.context) me.UpdateMask();
    });
  }

  void ReportClosed(std::string why) {
    if (closed_reported) return;
    closed_reported = true;
    std::weak_ptr<Impl*> alive = self;
    loop.Post([alive, why = std::move(why)] {
      if (auto impl = alive.lock()) (*impl)->on_closed(why);
    });
  }

  void OnEvent(std::uint32_t events) {
    const bool failed = events & (EPOLLERR | EPOLLHUP);
    // A read on an error or hang-up makes hiredis see it and free the context.
    if ((events & EPOLLIN) || (failed && (reading || !writing))) redisAsyncHandleRead(context);
    if (context && ((events & EPOLLOUT) || (failed && writing))) redisAsyncHandleWrite(context);
  }
};

namespace {

using Impl = RedisConnection::Impl;

Impl* ImplOf(void* privdata) { return static_cast<Impl*>(privdata); }

// hiredis's interest hooks: each sets one flag of the epoll mask.
void SetInterest(void* p, bool Impl::*flag, bool on) {
  Impl* impl = ImplOf(p);
  if (impl->*flag == on) return;
  impl->*flag = on;
  impl->UpdateMask();
}
void AddRead(void* p) { SetInterest(p, &Impl::reading, true); }
void DelRead(void* p) { SetInterest(p, &Impl::reading, false); }
void DelWrite(void* p) { SetInterest(p, &Impl::writing, false); }
void AddWrite(void* p) {
  Impl* impl = ImplOf(p);
  // Connecting: the socket turning writable is what completes the connect.
  if (impl->writing || impl->flush_scheduled || !impl->context ||
      !(impl->context->c.flags & REDIS_CONNECTED)) {
    return SetInterest(p, &Impl::writing, true);
  }
  impl->writing = true;
  impl->ScheduleFlush();
}

// hiredis is about to close the fd and free the context.
void Cleanup(void* p) {
  Impl* impl = ImplOf(p);
  redisAsyncContext* context = impl->context;
  impl->loop.Unwatch(impl->watch);
  impl->context = nullptr;
  impl->ReportClosed(context && context->err ? context->errstr : "connection closed");
}

void OnConnect(const redisAsyncContext* context, int status) {
  Impl* impl = ImplOf(context->data);
  // A failure is followed by the free, and so by Cleanup, which reports it.
  if (status == REDIS_OK && impl->on_connected) impl->on_connected();
}

RedisReply Copy(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply->elements);
      for (std::size_t i = 0; i < reply->elements; ++i) {
        out.elements.push_back(Copy(reply->element[i]));
      }
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

// One command's callback: called once, then freed.
void OnceThunk(redisAsyncContext*, void* raw, void* privdata) {
  auto* callback = static_cast<RedisConnection::OnReply*>(privdata);
  if (raw) {
    const RedisReply reply = Copy(static_cast<redisReply*>(raw));
    (*callback)(&reply);
  } else {
    (*callback)(nullptr);
  }
  delete callback;
}

// A subscription's callback: called per message; freed with the NULL of the context's end.
void SubscriptionThunk(redisAsyncContext*, void* raw, void* privdata) {
  auto* callback = static_cast<RedisConnection::OnReply*>(privdata);
  if (!raw) {
    (*callback)(nullptr);
    delete callback;
    return;
  }
  const RedisReply reply = Copy(static_cast<redisReply*>(raw));
  (*callback)(&reply);
}

bool SendCommand(Impl& impl, redisCallbackFn* thunk, RedisConnection::OnReply* callback,
                 const RespCommand& command) {
  const std::string bytes = command.Bytes();
  return redisAsyncFormattedCommand(impl.context, thunk, callback, bytes.data(), bytes.size()) ==
         REDIS_OK;
}

}  // namespace

RedisConnection::RedisConnection(RedisEventLoop& loop, const std::string& host, int port,
                                 std::function<void()> on_connected,
                                 std::function<void(const std::string&)> on_closed)
    : impl_(std::make_unique<Impl>(loop)) {
  impl_->on_connected = std::move(on_connected);
  impl_->on_closed = std::move(on_closed);
  redisAsyncContext* context = redisAsyncConnect(host.c_str(), port);
  if (!context || context->err) {
    impl_->ReportClosed(context ? context->errstr : "out of memory");
    if (context) redisAsyncFree(context);
    return;
  }
  impl_->context = context;
  context->data = impl_.get();
  context->ev.data = impl_.get();
  context->ev.addRead = AddRead;
  context->ev.delRead = DelRead;
  context->ev.addWrite = AddWrite;
  context->ev.delWrite = DelWrite;
  context->ev.cleanup = Cleanup;
  Impl* impl = impl_.get();
  impl_->watch =
      loop.Watch(context->c.fd, 0, [impl](std::uint32_t events) { impl->OnEvent(events); });
  redisAsyncSetConnectCallback(context, OnConnect);
  // The connect completes when the socket turns writable.
  AddWrite(impl);
}

RedisConnection::~RedisConnection() {
  Close();
  // A close reported but not yet delivered is dropped with the object.
  impl_->self.reset();
}

bool RedisConnection::Send(const RespCommand& command, OnReply on_reply) {
  if (!impl_->context) return false;
  auto* callback = new OnReply(std::move(on_reply));
  if (SendCommand(*impl_, OnceThunk, callback, command)) return true;
  delete callback;
  return false;
}

bool RedisConnection::Subscribe(const std::string& channel, OnReply on_message) {
  if (!impl_->context) return false;
  auto* callback = new OnReply(std::move(on_message));
  if (SendCommand(*impl_, SubscriptionThunk, callback, {"SUBSCRIBE", channel})) return true;
  delete callback;
  return false;
}

void RedisConnection::Close() {
  if (impl_->context) redisAsyncFree(impl_->context);
}

bool RedisConnection::open() const { return impl_->context != nullptr; }

}  // namespace livefeed
