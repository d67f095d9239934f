#include "reading_intake.hpp"

#include "meter_events.hpp"
#include "reading.hpp"
#include "rfc3339.hpp"
#include "solana_pda.hpp"

namespace eventnode::plugins::meter {
namespace {

using plugin::HttpRequest;
using plugin::HttpResponse;
using plugin::Json;

bool mayUseMeters(const plugin::Identity& who) {
  return who.authenticated && (who.hasRole("prosumer") || who.isAdmin());
}

HttpResponse notProsumer() {
  return HttpResponse::error(403, "forbidden", "this needs a token with the role prosumer or admin");
}

/// `mint`: the energy token's mint when minting is configured; then the
/// listing names the token account the meter's tokens go to.
Json meterJson(const Meter& meter, const std::optional<PublicKey>& mint) {
  Json json{{"meter_id", meter.meter_id},
            {"user_id", meter.owner},
            {"wallet_address", meter.wallet},
            {"public_key", meter.public_key.empty() ? Json(nullptr) : Json(meter.public_key)},
            {"registered_at", formatRfc3339Millis(meter.registered_ms)}};
  json["token_account"] = mint ? Json(toBase58(associatedTokenAddress(publicKey(meter.wallet), *mint))) : Json(nullptr);
  return json;
}

}  // namespace

ReadingIntake::ReadingIntake(const MeterSettings& settings, MeterStore& store, plugin::Host& host,
                             std::function<void()> stored)
    : settings_(settings),
      limits_(settings.limits()),
      store_(store),
      host_(host),
      stored_(std::move(stored)),
      logger_(host.logger()) {
  if (settings.mint.enabled) mint_ = parsePublicKey(settings.mint.mint);
  accepted_ = host.counter("readings_total", "Readings submitted, by outcome.", {{"outcome", "accepted"}});
  refused_ = host.counter("readings_total", "Readings submitted, by outcome.", {{"outcome", "refused"}});
  repeated_ = host.counter("readings_total", "Readings submitted, by outcome.", {{"outcome", "repeated"}});
}

HttpResponse ReadingIntake::registerMeter(const HttpRequest& request) {
  const auto& who = request.identity;
  if (!mayUseMeters(who)) return notProsumer();
  if (auto refusal = plugin::refuseNonJsonBody(request)) return *refusal;
  const auto read = plugin::readJson(request.body, {.max_depth = 8, .max_bytes = 16 * 1024});
  if (!read.ok()) return HttpResponse::error(400, "bad_json", "the body is not JSON: " + read.error);
  const auto& body = read.value;
  if (!body.is_object()) return HttpResponse::error(400, "bad_request", "the body must be a JSON object");
  const auto field = [&](const char* name) -> const Json* {
    const auto it = body.find(name);
    return it == body.end() || it->is_null() ? nullptr : &*it;
  };
  const auto* meter_id = field("meter_id");
  if (!meter_id) return HttpResponse::error(400, "bad_request", "missing field meter_id");
  if (!meter_id->is_string() || !isValidMeterId(meter_id->get_ref<const std::string&>()))
    return HttpResponse::error(400, "bad_request",
                               "meter_id must be a string of 1 to 64 characters A-Z a-z 0-9 . _ : -");
  const auto* wallet = field("wallet_address");
  if (!wallet) return HttpResponse::error(400, "bad_request", "missing field wallet_address");
  if (!wallet->is_string() || !parsePublicKey(wallet->get_ref<const std::string&>()))
    return HttpResponse::error(400, "bad_request", "wallet_address must be a base58 Solana address (32 bytes)");
  std::string public_key;
  if (const auto* key = field("public_key")) {
    if (!key->is_string() || !parsePublicKey(key->get_ref<const std::string&>()))
      return HttpResponse::error(400, "bad_request", "public_key must be a base58 Ed25519 public key (32 bytes)");
    public_key = key->get<std::string>();
  }
  const Meter meter{meter_id->get<std::string>(), who.user, wallet->get<std::string>(), public_key, nowMillis()};
  if (!store_.registerMeter(meter)) {
    const auto existing = store_.meter(meter.meter_id);
    // The same registration again (a retried request) is answered as it was the first time.
    if (existing && existing->owner == meter.owner && existing->wallet == meter.wallet &&
        existing->public_key == meter.public_key) {
      return HttpResponse::json(
          200, {{"success", true}, {"message", "meter already registered"}, {"meter", meterJson(*existing, mint_)}});
    }
    return HttpResponse::error(409, "meter_exists", "meter " + meter.meter_id + " is registered already");
  }
  logger_->info("meter registered meter_id={} owner={} signed={}", meter.meter_id, meter.owner, !public_key.empty());
  return HttpResponse::json(201,
                            {{"success", true}, {"message", "meter registered"}, {"meter", meterJson(meter, mint_)}});
}

HttpResponse ReadingIntake::listMeters(const HttpRequest& request) {
  const auto& who = request.identity;
  if (!mayUseMeters(who)) return notProsumer();
  Json meters = Json::array();
  for (const auto& meter : store_.meters(who.isAdmin() ? std::string() : who.user))
    meters.push_back(meterJson(meter, mint_));
  return HttpResponse::json(200, {{"meters", meters}});
}

HttpResponse ReadingIntake::refuse(const std::string& submitted_by, const std::string& user,
                                   const std::optional<std::string>& wallet, const Submission& reading,
                                   const std::string& reason, int status, const std::string& code) {
  const auto now = nowMillis();
  store_.insertRejection(submitted_by, reading.meter_id, reading.kwh_amount, reading.reading_timestamp, reason, now);
  host_.sendToUser(
      user, readingValidationFailed(user, wallet, reading.meter_id, reading.kwh_amount, reason, reading.reading_ms));
  refused_->inc();
  logger_->debug("reading refused meter_id={} by={} reason=\"{}\"", reading.meter_id, submitted_by, reason);
  auto response = HttpResponse::error(status, code, reason);
  // The seed's clients read `success`; the node's read `error`: both are there.
  auto body = Json::parse(response.body);
  body["success"] = false;
  body["message"] = reason;
  response.body = body.dump();
  return response;
}

HttpResponse ReadingIntake::submitReading(const HttpRequest& request) {
  const auto& who = request.identity;
  if (!mayUseMeters(who)) return notProsumer();
  if (auto refusal = plugin::refuseNonJsonBody(request)) return *refusal;
  auto parsed = parseSubmission(request.body);
  if (const auto* error = std::get_if<BodyError>(&parsed)) {
    return HttpResponse::error(400, error->field.empty() ? "bad_json" : "bad_request", error->message);
  }
  const auto& reading = std::get<Submission>(parsed);
  // Cheapest first; the signature (the only costly check) last.
  const auto meter = store_.meter(reading.meter_id);
  if (!meter) {
    return refuse(who.user, who.user, std::nullopt, reading, "meter " + reading.meter_id + " is not registered", 422,
                  "validation_failed");
  }
  if (meter->owner != who.user && !who.isAdmin()) {
    // Told to the owner (someone submits for their meter), never to the caller's topic.
    return refuse(who.user, meter->owner, meter->wallet, reading,
                  "meter " + reading.meter_id + " is not registered to " + who.user, 403, "forbidden");
  }
  if (const auto id = store_.findReading(reading.meter_id, reading.reading_ms)) {
    repeated_->inc();
    return HttpResponse::json(
        200, {{"success", true}, {"message", "reading already received"}, {"reading_id", std::to_string(*id)}});
  }
  if (const auto reason = checkReading(reading, limits_, nowMillis())) {
    return refuse(who.user, meter->owner, meter->wallet, reading, *reason, 422, "validation_failed");
  }
  const auto base_units = kwhToBaseUnits(reading.kwh_amount);
  if (!meter->public_key.empty()) {
    if (!reading.signature) {
      return refuse(who.user, meter->owner, meter->wallet, reading,
                    "meter " + reading.meter_id + " signs its readings: meter_signature is missing", 422,
                    "validation_failed");
    }
    const auto canonical = canonicalReadingBytes(reading.meter_id, base_units, reading.reading_ms);
    if (!verifyMeterSignature(*parsePublicKey(meter->public_key), canonical, *reading.signature)) {
      return refuse(who.user, meter->owner, meter->wallet, reading,
                    "meter_signature is not the meter's Ed25519 signature of this reading", 422, "validation_failed");
    }
  }
  const auto [id, inserted] = store_.insertReading(
      {reading.meter_id, meter->owner, meter->wallet, reading.kwh_amount, base_units, reading.reading_ms, nowMillis()});
  if (!inserted) {  // the same reading raced in on another thread: one event, one reading
    repeated_->inc();
    return HttpResponse::json(
        200, {{"success", true}, {"message", "reading already received"}, {"reading_id", std::to_string(id)}});
  }
  accepted_->inc();
  const auto published = host_.sendToUser(meter->owner, readingReceived(meter->owner, meter->wallet, reading.meter_id,
                                                                        reading.kwh_amount, reading.reading_ms));
  if (!published.accepted()) {
    logger_->debug("MeterReadingReceived not delivered user={} status={} reason=\"{}\"", meter->owner,
                   static_cast<int>(published.status), published.reason);
  }
  if (stored_) stored_();
  return HttpResponse::json(
      200, {{"success", true}, {"message", "reading received and validated"}, {"reading_id", std::to_string(id)}});
}

}  // namespace eventnode::plugins::meter
