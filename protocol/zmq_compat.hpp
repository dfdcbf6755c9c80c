#pragma once
// Socket option numbers that Debian's libzmq 4.3.4 implements but whose zmq.h declares only in
// its draft section (zrelay's libzmq is built with drafts; zrelay code does not see them).
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif
#ifndef ZMQ_ROUTER_NOTIFY
#define ZMQ_ROUTER_NOTIFY 97
#endif
#ifndef ZMQ_NOTIFY_DISCONNECT
#define ZMQ_NOTIFY_DISCONNECT 2
#endif
