// What a job spec says about the model, independent of YAML (launch/ parses it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ty {

// One entry of an explicit `model.layers:` list.
struct LayerSpec {
  std::string type;          // linear conv2d maxpool avgpool relu leaky_relu gelu tanh sigmoid
                             // dropout flatten batchnorm layernorm residual
  int64_t out = 0;           // linear: output features; conv2d: output channels
  int64_t kernel = 3;        // conv2d
  int64_t stride = 1;        // conv2d; pools: 0 = size
  int64_t padding = -1;      // conv2d: -1 = "same" (kernel / 2)
  int64_t size = 2;          // pools
  float p = 0.5f;            // dropout
  float slope = 0.01f;       // leaky_relu
  std::vector<LayerSpec> layers;  // residual: the body
};

struct ConvBlockSpec {
  int64_t channels = 32;
  int64_t kernel = 3;
  int64_t stride = 1;
  int64_t padding = -1;      // -1 = "same"
  std::string pool = "max";  // max | avg | none
  int64_t pool_size = 2;
  bool batch_norm = false;
  bool residual = false;     // two convs with a skip connection
};

struct ModelSpec {
  std::string kind = "mlp";         // mlp | cnn | layers
  std::string activation = "relu";  // relu | leaky_relu | gelu | tanh | sigmoid
  float dropout = 0.f;              // after each hidden activation (mlp, cnn's fc part)
  bool sync_batch_norm = false;     // batch norm statistics over all data-parallel ranks
  std::vector<int64_t> hidden = {256, 256};  // mlp hidden sizes; cnn fc sizes
  std::vector<ConvBlockSpec> conv;  // cnn
  std::vector<LayerSpec> layers;    // layers
};

}  // namespace ty
