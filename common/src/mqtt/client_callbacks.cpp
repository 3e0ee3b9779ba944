#include "client_callbacks.hpp"

#include <algorithm>
#include <mutex>
#include <string>

#include "danemq/crypto/openssl.hpp"
#include "danemq/log/log.hpp"

namespace danemq::mqtt {

// ---- libmosquitto callbacks (network thread, inside loop_read/loop_write) ----

void client::callbacks::on_connect(mosquitto* handle, void* context, int rc, int flags, const mosquitto_property*) {
  auto* self = static_cast<client*>(context);
  if (rc != 0) {
    self->refusal_ =
        std::string("broker refused the connection: ") +
        (self->options_.protocol == protocol_version::v5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
    return;
  }
  self->session_present_ = (flags & 1) != 0;
  {
    std::lock_guard lock(self->mutex_);
    ++self->stats_.connects;
  }
  self->pending_subscriptions_.clear();
  for (const auto& sub : self->options_.subscriptions) {
    int mid = 0;
    const int sent = mosquitto_subscribe_v5(handle, &mid, sub.topic.c_str(), sub.qos, 0, nullptr);
    if (sent != MOSQ_ERR_SUCCESS) {
      self->refusal_ = "cannot subscribe to " + sub.topic + ": " + mosquitto_strerror(sent);
      return;
    }
    self->pending_subscriptions_.push_back(mid);
  }
  self->set_phase(self->pending_subscriptions_.empty() ? phase::established : phase::subscribing);
}

void client::callbacks::on_subscribe(mosquitto*, void* context, int mid, int count, const int* granted,
                                     const mosquitto_property*) {
  auto* self = static_cast<client*>(context);
  auto& pending = self->pending_subscriptions_;
  const auto found = std::find(pending.begin(), pending.end(), mid);
  if (found == pending.end()) return;
  const auto index = static_cast<std::size_t>(found - pending.begin());
  pending.erase(found);
  for (int i = 0; i < count; ++i) {
    if (granted[i] >= 0x80) {
      const auto& topic =
          index < self->options_.subscriptions.size() ? self->options_.subscriptions[index].topic : std::string("?");
      self->refusal_ = "broker refused the subscription to " + topic + " (reason " + std::to_string(granted[i]) + ")";
      return;
    }
  }
  if (pending.empty() && self->phase_ == phase::subscribing) self->set_phase(phase::established);
}

void client::callbacks::on_message(mosquitto*, void* context, const mosquitto_message* msg, const mosquitto_property*) {
  auto* self = static_cast<client*>(context);
  message copy;
  copy.topic = msg->topic != nullptr ? msg->topic : "";
  const auto* bytes = static_cast<const std::uint8_t*>(msg->payload);
  const auto size = bytes != nullptr && msg->payloadlen > 0 ? static_cast<std::size_t>(msg->payloadlen) : 0;
  const auto limit = self->options_.max_payload;
  if (limit != 0 && size > limit) {
    // Digested where libmosquitto holds it, never copied: the receiver keeps
    // only its size, digest and topic.
    const auto* topic = reinterpret_cast<const std::uint8_t*>(copy.topic.data());
    const std::uint8_t separator = 0;
    copy.oversized =
        oversized_payload{size, crypto::sha256_of_parts({{topic, copy.topic.size()}, {&separator, 1}, {bytes, size}})};
    std::lock_guard lock(self->mutex_);
    ++self->stats_.oversized;
  } else if (size > 0) {
    copy.payload.assign(bytes, bytes + size);
    self->batch_bytes_ += size;
  }
  copy.qos = msg->qos;
  copy.retain = msg->retain;
  self->batch_.push_back(std::move(copy));
}

void client::callbacks::on_publish(mosquitto*, void* context, int mid, int reason, const mosquitto_property*) {
  auto* self = static_cast<client*>(context);
  const auto found = self->in_flight_.find(mid);
  if (found == self->in_flight_.end()) return;
  if (reason >= 0x80) {
    found->second(fail(errc::publish_refused, mosquitto_reason_string(reason)));
  } else {
    {
      std::lock_guard lock(self->mutex_);
      ++self->stats_.published;
    }
    found->second(ok());
  }
  self->in_flight_.erase(found);
}

void client::callbacks::on_log(mosquitto*, void* context, int level, const char* text) {
  auto* self = static_cast<client*>(context);
  if (text == nullptr) return;
  if (level == MOSQ_LOG_ERR) {
    // libmosquitto reports TLS failures (untrusted certificate, wrong host
    // name) only here; keep the line to say why the connection failed.
    self->log_error_ = text;
  }
  spdlog::debug("libmosquitto: {}", text);
}

}  // namespace danemq::mqtt
