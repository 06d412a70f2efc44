// A loopback port nothing listens on right now, for servers that cannot report a port they
// picked themselves (nginx, redis-server): found here and handed over.
#pragma once

namespace livefeed::testing {

int FreeLoopbackPort();

}  // namespace livefeed::testing
