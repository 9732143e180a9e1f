// Kernel launches with programmatic dependent launch (PDL, sm_90+): a kernel may start while
// the one before it in the stream is finishing, and waits in wait_for_inputs() — its first
// statement — until that one's writes are visible. A decode step is ~1000 small dependent
// kernels in a CUDA graph, where the launch latency between them is a large part of the step;
// PDL overlaps it with the previous kernel's tail. Every kernel launched through launch_kernel
// must call wait_for_inputs() before it reads or writes memory another kernel touches.
// UNICORN_CUDA_PDL=0 turns it off (plain stream order), and GPUs before sm_90 never use it.
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "backend/cuda/device.h"

namespace unicorn::cuda {

// Lets the next kernel in the stream launch now (its blocks take free SM slots and wait in
// their own wait_for_inputs()), then waits for the previous kernel's writes. Triggering first
// hides the next launch's latency behind this whole kernel, not just its tail. It is safe for
// any chain: griddepcontrol.wait returns only when the previous grid has completed and its
// memory is visible, and every kernel waits before it finishes, so completion is transitive;
// and a kernel launches early only once all blocks of the one before it have started (so
// waiting blocks never hold SM slots that an earlier, still unscheduled grid needs).
__device__ __forceinline__ void wait_for_inputs() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

template <typename... Params, typename... Args>
cudaError_t launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem,
                          cudaStream_t stream, Args&&... args) {
    cudaLaunchConfig_t cfg{};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = pdl_enabled() ? 1 : 0;
    return cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
}

}  // namespace unicorn::cuda
