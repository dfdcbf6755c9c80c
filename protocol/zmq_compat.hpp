#pragma once
// Socket option numbers that Debian's libzmq 4.3.4 implements but whose zmq.h omits.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif
