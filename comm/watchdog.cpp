#include "comm/watchdog.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "common/log.h"

namespace ecg::comm {

// The timer object is only touched on the watchdog thread (arm/disarm post to it); the
// generation counter, guarded by `mutex`, makes a late-firing timer of a superseded arm() a
// no-op even if its cancel() has not run yet.
struct Watchdog::Impl {
  int rank;
  std::function<void(int)> on_expiry;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  boost::asio::steady_timer timer{io};
  std::thread thread;

  mutable std::mutex mutex;
  uint64_t generation = 0;
  bool armed = false;
  std::string phase;
  int64_t step = 0;
  double seconds = 0;
  int expirations = 0;
  std::string last_message;

  void fire(uint64_t gen) {
    std::string message;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!armed || gen != generation) return;
      armed = false;
      message =
          fmt::format("rank {}: {} at step {} exceeded --timeout {}s", rank, phase, step, seconds);
      ++expirations;
      last_message = message;
    }
    ecg::log::error("{}", message);
    if (on_expiry) on_expiry(1);
  }
};

Watchdog::Watchdog(int rank, std::function<void(int)> on_expiry) : impl_(std::make_unique<Impl>()) {
  impl_->rank = rank;
  impl_->on_expiry = std::move(on_expiry);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

Watchdog::~Watchdog() {
  disarm();
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Watchdog::arm(const std::string& phase, int64_t step, double seconds) {
  if (seconds <= 0) {
    disarm();
    return;
  }
  uint64_t gen = 0;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    gen = ++impl_->generation;
    impl_->armed = true;
    impl_->phase = phase;
    impl_->step = step;
    impl_->seconds = seconds;
  }
  const auto delay = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
  boost::asio::post(impl_->io, [impl = impl_.get(), gen, delay] {
    impl->timer.expires_after(delay);
    impl->timer.async_wait([impl, gen](const boost::system::error_code& ec) {
      if (!ec) impl->fire(gen);
    });
  });
}

void Watchdog::disarm() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    ++impl_->generation;
    impl_->armed = false;
  }
  boost::asio::post(impl_->io, [impl = impl_.get()] { impl->timer.cancel(); });
}

int Watchdog::expirations() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->expirations;
}

std::string Watchdog::last_message() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->last_message;
}

}  // namespace ecg::comm
