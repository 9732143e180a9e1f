// Mirrors jinja2's idtracking.py (Symbols, FrameSymbolVisitor, RootVisitor) closely enough to
// find the names that a frame initializes to "missing" (VAR_LOAD_UNDEFINED): stored before any
// load, outside an `if` (branch stores become RESOLVE or ALIAS). Frames are the template, each
// for body and for-else, macro bodies, block-set bodies and {% generation %} bodies; a child
// frame is analyzed after its parent is complete, as jinja2's code generator does.
#include <map>
#include <set>

#include "text/jinja_parser.h"

namespace unicorn::text::jinja {
namespace {

enum class Load : uint8_t { kParam, kResolve, kAlias, kUndefined };

struct Symbols {
    const Symbols* parent = nullptr;
    std::map<std::string, Load> refs;
    std::set<std::string> stores;

    bool find(const std::string& n) const {
        return refs.count(n) > 0 || (parent != nullptr && parent->find(n));
    }
    void load(const std::string& n) {
        if (!find(n)) refs[n] = Load::kResolve;
    }
    void store(const std::string& n) {
        stores.insert(n);
        if (refs.count(n) == 0)
            refs[n] = (parent != nullptr && parent->find(n)) ? Load::kAlias : Load::kUndefined;
    }
    void param(const std::string& n) {
        stores.insert(n);
        refs[n] = Load::kParam;
    }
    void branch_update(const std::vector<Symbols>& branches) {
        std::set<std::string> added;
        for (const Symbols& b : branches)
            for (const std::string& n : b.stores)
                if (stores.count(n) == 0) added.insert(n);
        for (const Symbols& b : branches) {
            for (const auto& kv : b.refs) refs[kv.first] = kv.second;
            stores.insert(b.stores.begin(), b.stores.end());
        }
        for (const std::string& n : added)
            refs[n] = (parent != nullptr && parent->find(n)) ? Load::kAlias : Load::kResolve;
    }
};

class FrameVisitor {
  public:
    explicit FrameVisitor(Symbols* sym) : sym_(sym) {}

    void visit_body(const Body& body) {
        for (const NodePtr& n : body) visit(*n);
    }

    void visit_expr(const Expr* e) {
        if (e == nullptr) return;
        if (e->kind == ExprKind::kName) sym_->load(e->name);
        for (const ExprPtr& a : e->args) visit_expr(a.get());
        for (const auto& kv : e->kwargs) visit_expr(kv.second.get());
    }

    // Child frames met in this frame, analyzed once this frame is complete.
    std::vector<Node*> children;

  private:
    // jinja2's If: the elif branches are If nodes of their own inside one branch.
    void visit_if(const Node& n, size_t branch) {
        visit_expr(n.branches[branch].first.get());
        Symbols* original = sym_;
        std::vector<Symbols> syms(3, *original);
        sym_ = &syms[0];
        visit_body(n.branches[branch].second);
        if (branch == 0) {
            sym_ = &syms[1];
            for (size_t i = 1; i < n.branches.size(); ++i) visit_if(n, i);
            sym_ = &syms[2];
            visit_body(n.else_body);
        }
        sym_ = original;
        sym_->branch_update(syms);
    }

    void visit(Node& n) {
        switch (n.kind) {
            case NodeKind::kOutput:
                visit_expr(n.expr.get());
                break;
            case NodeKind::kIf:
                visit_if(n, 0);
                break;
            case NodeKind::kFor:
                visit_expr(n.expr.get());
                children.push_back(&n);
                break;
            case NodeKind::kSet:
                visit_expr(n.expr.get());
                if (!n.attr.empty()) {
                    sym_->load(n.targets[0]);
                } else {
                    for (const std::string& t : n.targets) sym_->store(t);
                }
                break;
            case NodeKind::kSetBlock:
                sym_->store(n.targets[0]);
                children.push_back(&n);
                break;
            case NodeKind::kMacro:
                sym_->store(n.text);
                children.push_back(&n);
                break;
            case NodeKind::kScope:
                children.push_back(&n);
                break;
            default:
                break;
        }
    }

    Symbols* sym_;
};

std::vector<std::string> undefined_names(const Symbols& sym) {
    std::vector<std::string> out;
    for (const auto& kv : sym.refs)
        if (kv.second == Load::kUndefined) out.push_back(kv.first);
    return out;
}

std::vector<std::string> analyze_frame(Symbols& sym, const Body& body) {
    FrameVisitor v(&sym);
    v.visit_body(body);
    for (Node* child : v.children) {
        Symbols inner;
        inner.parent = &sym;
        if (child->kind == NodeKind::kFor) {
            inner.param("loop");
            for (const std::string& t : child->targets) inner.param(t);
            child->frame_undefined = analyze_frame(inner, child->body);
            Symbols else_sym;
            else_sym.parent = &sym;
            child->else_undefined = analyze_frame(else_sym, child->else_body);
        } else if (child->kind == NodeKind::kMacro) {
            // jinja2 visits a macro's parameters, then their defaults, then its body.
            for (const auto& p : child->params) inner.param(p.first);
            FrameVisitor defaults(&inner);
            for (const auto& p : child->params) defaults.visit_expr(p.second.get());
            child->frame_undefined = analyze_frame(inner, child->body);
        } else {
            child->frame_undefined = analyze_frame(inner, child->body);
        }
    }
    return undefined_names(sym);
}

}  // namespace

std::vector<std::string> analyze_scopes(Body& body) {
    Symbols root;
    return analyze_frame(root, body);
}

}  // namespace unicorn::text::jinja
