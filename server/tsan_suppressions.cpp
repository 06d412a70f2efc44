// Linked only into ThreadSanitizer builds. Debian's libcpp-httplib.so is not instrumented:
// TSan does not see the inline guard check of its function-local statics (the set of
// methods in parse_request_line), and so reports their first use by two event loops
// serving static files as a race. Interceptor calls made from that library are ignored; our own code,
// the handlers included, is still checked.
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libcpp-httplib.so.0.11\n";
}
