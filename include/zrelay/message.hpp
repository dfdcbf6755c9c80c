#pragma once
// One object received by an endpoint. Cheap to copy: the payload is shared, never copied.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <zmq.hpp>
#include <zrelay/kind.hpp>
#include <zrelay/object_id.hpp>
#include <zrelay/serialization.hpp>

namespace zrelay {

class Message {
 public:
  Message(std::string group, Kind kind, std::uint64_t delivery_id, zmq::message_t&& payload,
          std::uint32_t attempt = 1, ObjectId object = {})
      : group_(std::move(group)),
        kind_(kind),
        delivery_id_(delivery_id),
        attempt_(attempt),
        object_(object),
        payload_(std::make_shared<const zmq::message_t>(std::move(payload))) {}

  [[nodiscard]] const std::string& group() const noexcept { return group_; }
  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  // A produced item keeps its delivery id when the broker delivers it again (its holder died or
  // left before acknowledging): the same id twice within one broker run is the same item.
  [[nodiscard]] std::uint64_t delivery_id() const noexcept { return delivery_id_; }
  // 1 for the first delivery of an item, more if it was delivered before (to this or another endpoint).
  [[nodiscard]] std::uint32_t attempt() const noexcept { return attempt_; }
  // The object's stable identity: the same when it is delivered again, in this broker run or
  // after a restart (docs/reliability.md says when a duplicate can still reach a consumer).
  [[nodiscard]] const ObjectId& object_id() const noexcept { return object_; }

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept {
    return {static_cast<const std::byte*>(payload_->data()), payload_->size()};
  }
  [[nodiscard]] std::string_view text() const noexcept {
    return {static_cast<const char*>(payload_->data()), payload_->size()};
  }
  [[nodiscard]] std::size_t size() const noexcept { return payload_->size(); }

  // The object, deserialized with Boost.Serialization. Throws zrelay::Error
  // (type_mismatch or decode_failed).
  template <class T>
  [[nodiscard]] T as() const {
    return deserialize<T>(bytes());
  }

 private:
  std::string group_;
  Kind kind_;
  std::uint64_t delivery_id_;
  std::uint32_t attempt_;
  ObjectId object_;
  std::shared_ptr<const zmq::message_t> payload_;
};

}  // namespace zrelay
