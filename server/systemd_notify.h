// Tells systemd how the service is doing (Type=notify): READY=1 once it listens,
// RELOADING=1 / READY=1 around a reload, STOPPING=1 on the way out. Sent as one datagram
// to the socket named by $NOTIFY_SOCKET, the protocol sd_notify(3) documents, so no
// library is needed. Without that variable (not started by systemd) it does nothing.
// Safe from any thread.
#pragma once

#include <string_view>

namespace livefeed {

// `state` is newline-separated VARIABLE=value assignments. Returns whether it was sent.
bool NotifySystemd(std::string_view state);

// "RELOADING=1" with the MONOTONIC_USEC stamp systemd pairs with the READY=1 that follows.
bool NotifySystemdReloading();

}  // namespace livefeed
