// Per-rank compute settings: intra-op threads for LibTorch and for OpenBLAS (which ignores
// torch::set_num_threads and otherwise starts one thread per core in every rank, oversubscribing
// the node as soon as two ranks share it).
#pragma once

namespace ecg::engine {

// threads <= 0: cores of the node / ranks on the node (at least 1). Returns the count used.
int configure_threads(int threads, int ranks_on_node);

}  // namespace ecg::engine
