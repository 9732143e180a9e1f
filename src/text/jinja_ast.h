// The parsed form of a Jinja template: expressions and statements, as jinja2's nodes.py has
// them (Const, Name, Getattr, Getitem, Filter, Test, CondExpr, If, For, Assign, Macro, ...).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja.h"
#include "text/jinja_value.h"

namespace unicorn::text::jinja {

enum class ExprKind : uint8_t {
    kLiteral,  // value
    kName,     // name
    kList,     // args = elements
    kTuple,    // args = elements (a tuple is a list value)
    kDict,     // args = key0, value0, key1, value1, ...
    kAttr,     // args[0].name
    kItem,     // args[0][args[1]]
    kSlice,    // args[0][args[1]:args[2]:args[3]]; absent parts are null
    kCall,     // args[0](args[1..], kwargs)
    kFilter,   // args[0] | name(args[1..], kwargs)
    kTest,     // args[0] is [not] name(args[1..], kwargs)
    kNeg,
    kPos,
    kNot,
    kBinary,   // args[0] bin_op args[1]
    kConcat,   // args[0] ~ args[1] ~ ...
    kCompare,  // args[0] cmp_ops[0] args[1] cmp_ops[1] args[2] ... (chained)
    kAnd,
    kOr,
    kCond,  // args[1] if args[0] else args[2] (args[2] null: undefined)
};

enum class BinOp : uint8_t { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow };
enum class CmpOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    ExprKind kind = ExprKind::kLiteral;
    uint32_t offset = 0;  // source position, for error messages
    JinjaValue value;
    std::string name;
    std::vector<ExprPtr> args;
    std::vector<std::pair<std::string, ExprPtr>> kwargs;
    BinOp bin_op = BinOp::kAdd;
    std::vector<CmpOp> cmp_ops;
    bool negated = false;  // `is not`
    FilterFn filter = nullptr;
    TestFn test = nullptr;
};

enum class NodeKind : uint8_t {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // branches (cond, body); else_body
    kFor,       // for targets in expr [if cond]: body; else_body
    kSet,       // set targets = expr, or set targets[0].attr = expr
    kSetBlock,  // set targets[0]: body (captured as a string)
    kMacro,     // macro text(params): body
    kBreak,
    kContinue,
    kScope,  // a block that just renders its body ({% generation %})
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
    NodeKind kind = NodeKind::kText;
    uint32_t offset = 0;
    std::string text;
    ExprPtr expr;
    ExprPtr cond;
    std::vector<std::pair<ExprPtr, Body>> branches;
    Body body;
    Body else_body;
    std::vector<std::string> targets;
    std::string attr;                                     // set ns.attr
    std::vector<std::pair<std::string, ExprPtr>> params;  // macro parameters and defaults
    // Names the frame of `body` (a loop iteration, macro call, block set, generation block)
    // and of `else_body` (for-else) start with as undefined; jinja_scope.cc.
    std::vector<std::string> frame_undefined;
    std::vector<std::string> else_undefined;
};

}  // namespace unicorn::text::jinja
