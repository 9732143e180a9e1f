// Every op's parameters and validation, for code that uses several (exec/, backends).
#pragma once

#include "ops/altup.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/rms_norm.h"
#include "ops/rope.h"
#include "ops/sparsity.h"
