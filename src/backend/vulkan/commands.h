// Recording work for the device: compute pipelines (built on first use from the embedded
// SPIR-V, through the device's pipeline cache), descriptor sets, and one command buffer that
// collects every op of a step with a full barrier between consecutive commands. flush() submits
// it and waits (a result is being read); then the per-step arena and descriptor pools are reset.
// A later increment will keep a step's command buffer and resubmit it: everything a command
// reads from the host already travels through the arena, not through the recording.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "backend/vulkan/device.h"
#include "backend/vulkan/memory.h"

namespace unicorn::vulkan {

class Commands {
  public:
    static Result<std::unique_ptr<Commands>> create(std::shared_ptr<Device> dev,
                                                    std::shared_ptr<Memory> mem);
    ~Commands();

    // Records shader `name` (specialization constant 0 = `spec`) over groups gx×gy with
    // `buffers` bound at 0, 1, … and `push` as its push constants (≤ 128 bytes).
    Status dispatch(const char* name, uint32_t spec, std::initializer_list<Buffer*> buffers,
                    const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy);
    template <typename P>
    Status dispatch(const char* name, uint32_t spec, std::initializer_list<Buffer*> buffers,
                    const P& push, uint32_t gx, uint32_t gy) {
        return dispatch(name, spec, buffers, &push, sizeof(P), gx, gy);
    }
    Status copy(Buffer* src, Buffer* dst, std::span<const VkBufferCopy> regions);
    // Host bytes in the step's arena (host-visible; valid until the step has run).
    Result<Located> stage(const void* data, size_t bytes);
    // Keeps `owner` alive until the recorded work has run.
    void keep(std::shared_ptr<void> owner) { kept_.push_back(std::move(owner)); }
    // Submits what was recorded and waits for it.
    Status flush();
    // Writes host bytes into a buffer now, outside the step (weights on a non-unified device:
    // through a staging buffer and a one-off submission).
    Status upload_now(Buffer* dst, size_t offset, const void* data, size_t bytes);
    // Copies bytes out of a buffer after flushing (a staged copy when it is not mapped).
    Status download(Buffer* src, size_t offset, size_t row_bytes, size_t stride, size_t rows,
                    void* out);
    int64_t dispatches() const { return dispatches_; }
    int64_t submits() const { return submits_; }

  private:
    struct Pipeline {
        VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
        VkPipelineLayout layout = VK_NULL_HANDLE;
        VkPipeline pipeline = VK_NULL_HANDLE;
    };
    Commands(std::shared_ptr<Device> dev, std::shared_ptr<Memory> mem)
        : dev_(std::move(dev)), mem_(std::move(mem)) {}
    Result<Pipeline*> pipeline(const char* name, uint32_t spec, uint32_t n_buffers);
    Result<VkDescriptorSet> descriptor_set(VkDescriptorSetLayout layout);
    // Begins the command buffer, or puts a barrier after the last command.
    Status next_command();
    Status submit_and_wait(VkCommandBuffer cb);
    Status check_lost() const;

    std::shared_ptr<Device> dev_;
    std::shared_ptr<Memory> mem_;
    VkCommandBuffer cb_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    bool recording_ = false;
    int64_t commands_ = 0;  // in the current recording
    std::map<std::string, VkShaderModule> modules_;
    std::map<std::tuple<std::string, uint32_t, uint32_t>, Pipeline> pipelines_;
    std::vector<VkDescriptorPool> pools_;
    size_t pool_ = 0;  // the pool being allocated from
    std::vector<std::shared_ptr<Buffer>> arena_;
    size_t arena_chunk_ = 0, arena_used_ = 0;
    std::vector<std::shared_ptr<void>> kept_;
    int64_t dispatches_ = 0, submits_ = 0;
};

}  // namespace unicorn::vulkan
