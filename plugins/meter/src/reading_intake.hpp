#pragma once
// The meter's HTTP API: meters registered to their owners, and readings
// validated, stored, and announced to their owner. Handlers run on the HTTP
// server's threads; everything here is thread-safe.
#include "meter_settings.hpp"
#include "meter_store.hpp"
#include "reading.hpp"

#include <eventnode/plugin/host.hpp>

#include <functional>
#include <memory>

namespace eventnode::plugins::meter {

class ReadingIntake {
 public:
  /// `stored` is called after each accepted reading is in SQLite (the minter's nudge).
  ReadingIntake(const MeterSettings& settings, MeterStore& store, plugin::Host& host, std::function<void()> stored);

  /// POST /api/meters {meter_id, wallet_address, public_key?}
  plugin::HttpResponse registerMeter(const plugin::HttpRequest& request);
  /// GET /api/meters: the caller's meters; an admin's: all.
  plugin::HttpResponse listMeters(const plugin::HttpRequest& request);
  /// POST /api/meters/submit-reading {meter_id, kwh_amount, reading_timestamp, meter_signature?}
  plugin::HttpResponse submitReading(const plugin::HttpRequest& request);

 private:
  /// Stores the refusal, tells `user` (an event on their topic), answers 422 (403 for `forbidden`).
  plugin::HttpResponse refuse(const std::string& submitted_by, const std::string& user,
                              const std::optional<std::string>& wallet, const Submission& reading,
                              const std::string& reason, int status, const std::string& code);

  MeterSettings settings_;
  ReadingLimits limits_;
  MeterStore& store_;
  plugin::Host& host_;
  std::function<void()> stored_;
  std::shared_ptr<spdlog::logger> logger_;
  std::optional<PublicKey> mint_;  // set when minting is configured
  std::shared_ptr<plugin::Counter> accepted_, refused_, repeated_;
};

}  // namespace eventnode::plugins::meter
