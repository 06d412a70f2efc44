// Server-Sent Events framing (the text/event-stream format of the HTML standard).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace livefeed {

// "id: <id>\nevent: <event>\ndata: ...\n\n"; `event` omitted when empty, id when 0.
// Each line of `data` becomes its own "data:" line, so payloads with newlines arrive intact.
void AppendSseEvent(std::string& out, std::uint64_t id, std::string_view event,
                    std::string_view data);

// ": <text>\n\n", ignored by clients; keeps proxies from closing an idle stream.
void AppendSseComment(std::string& out, std::string_view text);

// "retry: <ms>\n\n": how long EventSource waits before reconnecting.
void AppendSseRetry(std::string& out, int milliseconds);

}  // namespace livefeed
