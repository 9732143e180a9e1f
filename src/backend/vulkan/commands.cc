#include "backend/vulkan/commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "backend/vulkan/shader.h"
#include "backend/vulkan/vk_status.h"

namespace unicorn::vulkan {
namespace {

constexpr uint32_t kMaxPushBytes = 128;  // the minimum every device guarantees
constexpr uint32_t kSetsPerPool = 512;
constexpr uint32_t kMaxBindings = 8;
constexpr size_t kArenaChunk = size_t{1} << 20;

}  // namespace

Result<std::unique_ptr<Commands>> Commands::create(std::shared_ptr<Device> dev,
                                                   std::shared_ptr<Memory> mem) {
    std::unique_ptr<Commands> c(new Commands(std::move(dev), std::move(mem)));
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = c->dev_->command_pool();
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    UNI_RETURN_IF_ERROR(vk_status(vkAllocateCommandBuffers(c->dev_->handle(), &ai, &c->cb_),
                                  "vkAllocateCommandBuffers"));
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    UNI_RETURN_IF_ERROR(
        vk_status(vkCreateFence(c->dev_->handle(), &fci, nullptr, &c->fence_), "vkCreateFence"));
    return c;
}

Commands::~Commands() {
    VkDevice d = dev_->handle();
    if (recording_) {
        vkEndCommandBuffer(cb_);  // never submitted: its work is dropped
    }
    vkDeviceWaitIdle(d);
    for (auto& [key, p] : pipelines_) {
        vkDestroyPipeline(d, p.pipeline, nullptr);
        vkDestroyPipelineLayout(d, p.layout, nullptr);
        vkDestroyDescriptorSetLayout(d, p.set_layout, nullptr);
    }
    for (auto& [name, m] : modules_) vkDestroyShaderModule(d, m, nullptr);
    for (VkDescriptorPool p : pools_) vkDestroyDescriptorPool(d, p, nullptr);
    if (fence_ != VK_NULL_HANDLE) vkDestroyFence(d, fence_, nullptr);
    if (cb_ != VK_NULL_HANDLE) vkFreeCommandBuffers(d, dev_->command_pool(), 1, &cb_);
}

Status Commands::check_lost() const {
    if (dev_->lost())
        return device_error(
            "vulkan: the device was lost earlier (VK_ERROR_DEVICE_LOST); restart, or run with "
            "--device cpu");
    return ok_status();
}

Result<Commands::Pipeline*> Commands::pipeline(const char* name, uint32_t spec,
                                               uint32_t n_buffers) {
    const auto key = std::make_tuple(std::string(name), spec, n_buffers);
    auto it = pipelines_.find(key);
    if (it != pipelines_.end()) return &it->second;
    VkDevice d = dev_->handle();
    VkShaderModule& module = modules_[name];
    if (module == VK_NULL_HANDLE) {
        const EmbeddedShader* found = nullptr;
        for (const EmbeddedShader& s : embedded_shaders())
            if (std::strcmp(s.name, name) == 0) found = &s;
        if (found == nullptr) return internal_error(fmt::format("vulkan: no shader '{}'", name));
        VkShaderModuleCreateInfo mci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
        mci.codeSize = *found->words * sizeof(uint32_t);
        mci.pCode = found->code;
        UNI_RETURN_IF_ERROR(vk_status(vkCreateShaderModule(d, &mci, nullptr, &module),
                                      fmt::format("creating shader {}", name).c_str()));
    }
    Pipeline p;
    VkDescriptorSetLayoutBinding b[kMaxBindings];
    for (uint32_t i = 0; i < n_buffers; ++i)
        b[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo lci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    lci.bindingCount = n_buffers;
    lci.pBindings = b;
    UNI_RETURN_IF_ERROR(vk_status(vkCreateDescriptorSetLayout(d, &lci, nullptr, &p.set_layout),
                                  "vkCreateDescriptorSetLayout"));
    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, kMaxPushBytes};
    VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pli.setLayoutCount = 1;
    pli.pSetLayouts = &p.set_layout;
    pli.pushConstantRangeCount = 1;
    pli.pPushConstantRanges = &range;
    UNI_RETURN_IF_ERROR(
        vk_status(vkCreatePipelineLayout(d, &pli, nullptr, &p.layout), "vkCreatePipelineLayout"));
    VkSpecializationMapEntry entry{0, 0, sizeof(uint32_t)};
    VkSpecializationInfo si{1, &entry, sizeof(uint32_t), &spec};
    VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = &si;
    ci.layout = p.layout;
    UNI_RETURN_IF_ERROR(
        vk_status(vkCreateComputePipelines(d, dev_->pipeline_cache(), 1, &ci, nullptr, &p.pipeline),
                  fmt::format("creating pipeline {}", name).c_str()));
    return &pipelines_.emplace(key, p).first->second;
}

Result<VkDescriptorSet> Commands::descriptor_set(VkDescriptorSetLayout layout) {
    for (;; ++pool_) {
        if (pool_ == pools_.size()) {
            VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      kSetsPerPool * kMaxBindings};
            VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
            pci.maxSets = kSetsPerPool;
            pci.poolSizeCount = 1;
            pci.pPoolSizes = &size;
            VkDescriptorPool pool = VK_NULL_HANDLE;
            UNI_RETURN_IF_ERROR(
                vk_status(vkCreateDescriptorPool(dev_->handle(), &pci, nullptr, &pool),
                          "vkCreateDescriptorPool"));
            pools_.push_back(pool);
        }
        VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
        ai.descriptorPool = pools_[pool_];
        ai.descriptorSetCount = 1;
        ai.pSetLayouts = &layout;
        VkDescriptorSet set = VK_NULL_HANDLE;
        const VkResult r = vkAllocateDescriptorSets(dev_->handle(), &ai, &set);
        if (r == VK_SUCCESS) return set;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
            return vk_status(r, "vkAllocateDescriptorSets");
    }
}

Status Commands::next_command() {
    UNI_RETURN_IF_ERROR(check_lost());
    if (!recording_) {
        VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
        bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        UNI_RETURN_IF_ERROR(vk_status(vkBeginCommandBuffer(cb_, &bi), "vkBeginCommandBuffer"));
        recording_ = true;
        commands_ = 0;
    } else if (commands_ > 0) {
        // Every command may read what the previous ones wrote (and reuse their buffers).
        VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        const VkPipelineStageFlags stages =
            VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
        vkCmdPipelineBarrier(cb_, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
    }
    ++commands_;
    return ok_status();
}

Status Commands::dispatch(const char* name, uint32_t spec, std::initializer_list<Buffer*> buffers,
                          const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy) {
    if (push_bytes > kMaxPushBytes || buffers.size() > kMaxBindings)
        return internal_error(fmt::format("vulkan {}: too many arguments", name));
    if (gx == 0 || gy == 0) return ok_status();
    const uint32_t max_x = dev_->limits().maxComputeWorkGroupCount[0];
    const uint32_t max_y = dev_->limits().maxComputeWorkGroupCount[1];
    if (gx > max_x || gy > max_y)
        return internal_error(fmt::format("vulkan {}: {}×{} workgroups exceed the device's {}×{}",
                                          name, gx, gy, max_x, max_y));
    UNI_ASSIGN_OR_RETURN(Pipeline * p, pipeline(name, spec, static_cast<uint32_t>(buffers.size())));
    UNI_ASSIGN_OR_RETURN(VkDescriptorSet set, descriptor_set(p->set_layout));
    VkDescriptorBufferInfo info[kMaxBindings];
    VkWriteDescriptorSet writes[kMaxBindings];
    uint32_t i = 0;
    for (Buffer* b : buffers) {
        info[i] = {b->buffer, 0, VK_WHOLE_SIZE};
        writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        writes[i].dstSet = set;
        writes[i].dstBinding = i;
        writes[i].descriptorCount = 1;
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &info[i];
        ++i;
    }
    vkUpdateDescriptorSets(dev_->handle(), i, writes, 0, nullptr);
    UNI_RETURN_IF_ERROR(next_command());
    vkCmdBindPipeline(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    vkCmdBindDescriptorSets(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, nullptr);
    uint8_t pc[kMaxPushBytes] = {};
    std::memcpy(pc, push, push_bytes);
    vkCmdPushConstants(cb_, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, kMaxPushBytes, pc);
    vkCmdDispatch(cb_, gx, gy, 1);
    ++dispatches_;
    return ok_status();
}

Status Commands::copy(Buffer* src, Buffer* dst, std::span<const VkBufferCopy> regions) {
    if (regions.empty()) return ok_status();
    UNI_RETURN_IF_ERROR(next_command());
    vkCmdCopyBuffer(cb_, src->buffer, dst->buffer, static_cast<uint32_t>(regions.size()),
                    regions.data());
    return ok_status();
}

Result<Located> Commands::stage(const void* data, size_t bytes) {
    bytes = std::max<size_t>(bytes, 4);
    while (arena_chunk_ < arena_.size() && arena_used_ + bytes > arena_[arena_chunk_]->size) {
        ++arena_chunk_;
        arena_used_ = 0;
    }
    if (arena_chunk_ == arena_.size()) {
        UNI_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> b,
                             mem_->create(std::max(bytes, kArenaChunk), Memory::Kind::kHost));
        arena_.push_back(std::move(b));
        arena_used_ = 0;
    }
    Buffer* b = arena_[arena_chunk_].get();
    const size_t off = arena_used_;
    if (data != nullptr) std::memcpy(static_cast<uint8_t*>(b->mapped) + off, data, bytes);
    arena_used_ = (off + bytes + 15) & ~size_t{15};  // 16-byte aligned entries
    return Located{b, off};
}

Status Commands::submit_and_wait(VkCommandBuffer cb) {
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb;
    VkDevice d = dev_->handle();
    VkResult r = vkQueueSubmit(dev_->queue(), 1, &si, fence_);
    if (r == VK_SUCCESS) r = vkWaitForFences(d, 1, &fence_, VK_TRUE, UINT64_MAX);
    ++submits_;
    if (r == VK_ERROR_DEVICE_LOST) dev_->mark_lost();
    UNI_RETURN_IF_ERROR(vk_status(r, "running the recorded commands"));
    return vk_status(vkResetFences(d, 1, &fence_), "vkResetFences");
}

Status Commands::flush() {
    UNI_RETURN_IF_ERROR(check_lost());
    Status s = ok_status();
    if (recording_) {
        // The host reads results after the fence: make the device's writes visible to it.
        VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        vkCmdPipelineBarrier(cb_,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
        recording_ = false;
        s = vk_status(vkEndCommandBuffer(cb_), "vkEndCommandBuffer");
        if (s.ok()) s = submit_and_wait(cb_);
        vkResetCommandBuffer(cb_, 0);
    }
    // The step is over (or failed): its arena, descriptor sets and kept buffers are free.
    for (VkDescriptorPool p : pools_) vkResetDescriptorPool(dev_->handle(), p, 0);
    pool_ = 0;
    arena_chunk_ = arena_used_ = 0;
    kept_.clear();
    return s;
}

Status Commands::upload_now(Buffer* dst, size_t offset, const void* data, size_t bytes) {
    if (dst->mapped != nullptr) {  // unified memory: a fresh buffer no command reads yet
        std::memcpy(static_cast<uint8_t*>(dst->mapped) + offset, data, bytes);
        return ok_status();
    }
    UNI_RETURN_IF_ERROR(flush());  // the one command buffer is free for this copy
    UNI_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> staging, mem_->create(bytes, Memory::Kind::kHost));
    std::memcpy(staging->mapped, data, bytes);
    const VkBufferCopy region{0, offset, bytes};
    UNI_RETURN_IF_ERROR(copy(staging.get(), dst, std::span(&region, 1)));
    return flush();
}

Status Commands::download(Buffer* src, size_t offset, size_t row_bytes, size_t stride, size_t rows,
                          void* out) {
    std::shared_ptr<Buffer> staging;
    if (src->mapped == nullptr && rows > 0) {
        UNI_ASSIGN_OR_RETURN(staging, mem_->create(row_bytes * rows, Memory::Kind::kHost));
        std::vector<VkBufferCopy> regions(rows);
        for (size_t r = 0; r < rows; ++r)
            regions[r] = {offset + r * stride, r * row_bytes, row_bytes};
        UNI_RETURN_IF_ERROR(copy(src, staging.get(), regions));
    }
    UNI_RETURN_IF_ERROR(flush());
    for (size_t r = 0; r < rows; ++r) {
        const uint8_t* from = staging
                                  ? static_cast<const uint8_t*>(staging->mapped) + r * row_bytes
                                  : static_cast<const uint8_t*>(src->mapped) + offset + r * stride;
        std::memcpy(static_cast<uint8_t*>(out) + r * row_bytes, from, row_bytes);
    }
    return ok_status();
}

}  // namespace unicorn::vulkan
