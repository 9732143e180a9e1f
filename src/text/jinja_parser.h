// Jinja parser: tokens -> statement tree, with jinja2's operator precedence (parser.py).
#pragma once

#include <vector>

#include "core/status.h"
#include "text/jinja_ast.h"
#include "text/jinja_lexer.h"

namespace unicorn::text::jinja {

// Unknown tags, filters and tests are errors here, as jinja2 reports them when compiling.
// `max_depth` bounds statement and expression nesting (the parser and evaluator recurse).
Result<Body> parse_template(const std::vector<Token>& tokens, const SourceMap& map,
                            size_t max_depth);

// jinja2's frame analysis (idtracking.py): a name whose first reference in a frame is a `set`
// outside any `if` starts that frame undefined, hiding the context's value from nested loops
// and macros until the set runs (`{% for .. %}{{ x }}{% endfor %}{% set x = 1 %}` prints
// nothing even when the context has x). Fills each node's frame_undefined/else_undefined and
// returns the root frame's list.
std::vector<std::string> analyze_scopes(Body& body);

}  // namespace unicorn::text::jinja
