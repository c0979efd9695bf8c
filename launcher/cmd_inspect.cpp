// `ecgdist inspect FILE.h5`: layout, attributes (incl. the preprocessing manifest), records per
// fold and label counts per task of a preprocessed file.
#include <iostream>

#include "data/inspect.h"
#include "launcher/command_registry.h"

namespace ecg::launcher {
namespace {

const RegisterCommand kRegisterInspect{
    CommandSpec{"inspect",
                "Print the layout, preprocessing manifest, records per fold and label counts of a "
                "preprocessed HDF5 file",
                25, [](CLI::App& sub) -> std::function<int()> {
                  auto path = std::make_shared<std::string>();
                  sub.add_option("file", *path, "preprocessed HDF5 file")->required();
                  return [path] {
                    std::cout << data::inspect_report(*path) << std::flush;
                    return 0;
                  };
                }}};

}  // namespace
}  // namespace ecg::launcher
