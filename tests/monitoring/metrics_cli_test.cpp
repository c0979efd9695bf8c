// The shared --metrics-* / --progress* flags: parsing into MetricsOptions, defaults in --help.
#include "monitoring/metrics_cli.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace ecg::monitoring {
namespace {

TEST(MetricsCli, DefaultsAreOffAndAllInterfaces) {
  CLI::App app;
  MetricsOptions o;
  add_metrics_options(app, o);
  app.parse(std::vector<std::string>{});
  EXPECT_EQ(o.port, 0);
  EXPECT_EQ(o.bind, "0.0.0.0");
  EXPECT_FALSE(o.port_auto);
  EXPECT_TRUE(o.sd_dir.empty());
  EXPECT_EQ(o.progress, "auto");
}

TEST(MetricsCli, ParsesEveryFlag) {
  CLI::App app;
  MetricsOptions o;
  add_metrics_options(app, o);
  // CLI11 parses a reversed argv vector.
  std::vector<std::string> args{"--metrics-port",
                                "9400",
                                "--metrics-bind",
                                "127.0.0.1",
                                "--metrics-port-auto",
                                "--metrics-sd-dir",
                                "/tmp/sd",
                                "--progress-interval",
                                "5",
                                "--progress",
                                "lines"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  EXPECT_EQ(o.port, 9400);
  EXPECT_EQ(o.bind, "127.0.0.1");
  EXPECT_TRUE(o.port_auto);
  EXPECT_EQ(o.sd_dir, "/tmp/sd");
  EXPECT_DOUBLE_EQ(o.progress_interval_s, 5.0);
  EXPECT_EQ(o.progress, "lines");
}

TEST(MetricsCli, RejectsBadValues) {
  for (const char* bad : {"--metrics-port=70000", "--progress=fancy", "--progress-interval=0"}) {
    CLI::App app;
    MetricsOptions o;
    add_metrics_options(app, o);
    EXPECT_THROW(app.parse(std::vector<std::string>{bad}), CLI::ParseError) << bad;
  }
}

TEST(MetricsCli, HelpShowsEveryDefault) {
  CLI::App app;
  app.option_defaults()->always_capture_default();
  MetricsOptions o;
  add_metrics_options(app, o);
  const std::string help = app.help();
  // Debian 12's CLI11 shows a default as "=value", Debian 13's (2.4) as " [value]".
  const std::pair<const char*, const char*> shown[] = {
      {"--metrics-port INT:INT in [0 - 65535]", "0"},
      {"--metrics-bind TEXT", "0.0.0.0"},
      {"--metrics-port-auto-range INT:INT in [1 - 65535]", "64"},
      {"--progress-interval FLOAT:POSITIVE", "30"},
      {"--progress TEXT:{auto,bar,lines,off}", "auto"}};
  for (const auto& [option, value] : shown) {
    const std::string old_style = std::string(option) + "=" + value;
    const std::string new_style = std::string(option) + " [" + value + "]";
    EXPECT_TRUE(help.find(old_style) != std::string::npos || help.find(new_style) != std::string::npos)
        << old_style << " / " << new_style << "\n" << help;
  }
}

}  // namespace
}  // namespace ecg::monitoring
