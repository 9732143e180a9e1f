#!/usr/bin/env python3
"""Regenerates the chat-template reference outputs in tests/data/templates/ with Python jinja2.

The templates (*.jinja, sources in tests/data/templates/README.md) are rendered the way Hugging
Face transformers' apply_chat_template(..., tokenize=False) renders them: an
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with jinja2.ext.loopcontrols,
the globals raise_exception and strftime_now, and transformers' tojson filter (json.dumps with
ensure_ascii=False, keys unsorted); variables messages, tools=None, documents=None,
add_generation_prompt, bos_token, eos_token, plus each case's extra variables. strftime_now
formats a fixed time (FIXED_TIME, UTC) so the outputs are reproducible; tests/text/jinja_test.cc
passes the same time to the C++ interpreter.

Outputs:
  cases.json          the conversations: template file, messages, flags, variables, and the
                      expected output file (expected/NAME.txt) or the error jinja2 raised.
  expected/NAME.txt   the rendered text, byte for byte.
  unit_cases.json     small templates exercising one construct each, with the output jinja2
                      renders, or (for templates that must fail) a substring of the C++ error.

Usage: tools/make_template_refs.py [--out DIR]     (needs jinja2 3.x: pip install jinja2)
"""

import argparse
import datetime
import json
import pathlib
import sys

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIXED_TIME = 1741951845  # 2025-03-14 11:30:45 UTC

ROOT = pathlib.Path(__file__).resolve().parent.parent


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(format):
        when = datetime.datetime.fromtimestamp(FIXED_TIME, tz=datetime.timezone.utc)
        return when.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


# ---------------------------------------------------------------- conversations

SYS = {"role": "system", "content": "You are a concise assistant."}
U1 = {"role": "user", "content": "Hello! What is the capital of France?"}
A1 = {"role": "assistant", "content": "The capital of France is Paris."}
U2 = {"role": "user", "content": "  And of Italy?\n"}
MULTI = [U1, A1, U2]

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city (Zürich, Paris, ...)",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}]
TOOL_CALL = {"role": "assistant", "tool_calls": [
    {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}
TOOL_RESULT = {"role": "tool", "content": {"temperature": 21.5, "sky": "clear"}}

GEMMA = dict(bos_token="<bos>", eos_token="<eos>")
CHATML = dict(bos_token="<|im_start|>", eos_token="<|im_end|>")
LLAMA = dict(bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")

CASES = [
    # Gemma 3 (google/gemma-3-*-it)
    dict(name="gemma3_user", template="gemma3", messages=[U1], add_generation_prompt=True, **GEMMA),
    dict(name="gemma3_system_user", template="gemma3", messages=[SYS, U1],
         add_generation_prompt=True, **GEMMA),
    dict(name="gemma3_multi_turn", template="gemma3", messages=MULTI, add_generation_prompt=True,
         **GEMMA),
    dict(name="gemma3_system_multi_no_gen", template="gemma3", messages=[SYS] + MULTI + [A1],
         add_generation_prompt=False, **GEMMA),
    dict(name="gemma3_parts", template="gemma3",
         messages=[{"role": "system", "content": [{"type": "text", "text": "Describe images."}]},
                   {"role": "user", "content": [{"type": "image"},
                                                {"type": "text", "text": " What is this? "}]}],
         add_generation_prompt=True, **GEMMA),
    dict(name="gemma3_unicode", template="gemma3",
         messages=[{"role": "user", "content": "\u00a0Grüße, 世界 👋\u3000"}],
         add_generation_prompt=True, **GEMMA),
    dict(name="gemma3_alternation_error", template="gemma3", messages=[U1, U2],
         add_generation_prompt=True, **GEMMA),
    dict(name="gemma3_invalid_content", template="gemma3",
         messages=[{"role": "user", "content": 42}], add_generation_prompt=True, **GEMMA),
    dict(name="gemma3_no_messages", template="gemma3", messages=[], add_generation_prompt=True,
         **GEMMA),
    # Gemma 3n (google/gemma-3n-E2B-it / E4B-it)
    dict(name="gemma3n_system_user", template="gemma3n", messages=[SYS, U1],
         add_generation_prompt=True, **GEMMA),
    dict(name="gemma3n_multi_turn_no_gen", template="gemma3n", messages=MULTI + [A1],
         add_generation_prompt=False, **GEMMA),
    dict(name="gemma3n_audio_image", template="gemma3n",
         messages=[{"role": "user", "content": [{"type": "audio"}, {"type": "image"},
                                                {"type": "text", "text": "Transcribe it."}]}],
         add_generation_prompt=True, **GEMMA),
    # SmolLM2 (ChatML with a default system turn)
    dict(name="smollm2_user", template="smollm2", messages=[U1], add_generation_prompt=True,
         **CHATML),
    dict(name="smollm2_system_user", template="smollm2", messages=[SYS, U1],
         add_generation_prompt=True, **CHATML),
    dict(name="smollm2_multi_turn_no_gen", template="smollm2", messages=MULTI,
         add_generation_prompt=False, **CHATML),
    dict(name="smollm2_no_messages", template="smollm2", messages=[], add_generation_prompt=True,
         **CHATML),
    # Llama 3 (Meta-Llama-3-8B-Instruct)
    dict(name="llama3_system_user", template="llama3", messages=[SYS, U1],
         add_generation_prompt=True, **LLAMA),
    dict(name="llama3_multi_turn_no_gen", template="llama3", messages=MULTI,
         add_generation_prompt=False, **LLAMA),
    # Llama 3.1 / 3.3 (Llama-3.1-8B-Instruct, Llama-3.3-70B-Instruct)
    dict(name="llama3.1_system_user", template="llama3.1", messages=[SYS, U1],
         add_generation_prompt=True, **LLAMA),
    dict(name="llama3.1_multi_turn_no_gen", template="llama3.1", messages=MULTI,
         add_generation_prompt=False, **LLAMA),
    dict(name="llama3.1_date_string", template="llama3.1", messages=[U1],
         add_generation_prompt=True, variables={"date_string": "01 Jan 2030"}, **LLAMA),
    dict(name="llama3.1_tools", template="llama3.1", messages=[SYS, U1],
         add_generation_prompt=True, variables={"tools": TOOLS}, **LLAMA),
    dict(name="llama3.1_tools_in_system", template="llama3.1", messages=[SYS, U1],
         add_generation_prompt=True,
         variables={"tools": TOOLS, "tools_in_user_message": False}, **LLAMA),
    dict(name="llama3.1_tool_call", template="llama3.1",
         messages=[U1, TOOL_CALL, TOOL_RESULT], add_generation_prompt=True,
         variables={"tools": TOOLS}, **LLAMA),
    dict(name="llama3.1_builtin_tools", template="llama3.1",
         messages=[SYS, U1, {"role": "assistant", "tool_calls": [
             {"type": "function", "function": {"name": "brave_search",
                                               "arguments": {"query": "capital of France"}}}]},
                   {"role": "ipython", "content": "Paris"}],
         add_generation_prompt=True,
         variables={"builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"]},
         **LLAMA),
    dict(name="llama3.1_tools_without_messages", template="llama3.1", messages=[SYS],
         add_generation_prompt=True, variables={"tools": TOOLS}, **LLAMA),
    dict(name="llama3.1_two_tool_calls", template="llama3.1",
         messages=[U1, {"role": "assistant", "tool_calls": TOOL_CALL["tool_calls"] * 2}],
         add_generation_prompt=True, **LLAMA),
    # Llama 3.2 (Llama-3.2-3B-Instruct): today's date from strftime_now
    dict(name="llama3.2_system_user", template="llama3.2", messages=[SYS, U1],
         add_generation_prompt=True, **LLAMA),
    dict(name="llama3.2_tools", template="llama3.2", messages=[U1, TOOL_CALL, TOOL_RESULT],
         add_generation_prompt=True, variables={"tools": TOOLS}, **LLAMA),
]


# ---------------------------------------------------------------- one construct each

# (template, context) renders as jinja2 renders it; (template, context, error) must fail both in
# jinja2 and in the C++ interpreter, whose message must contain `error`.
UNIT = [
    # literals and output
    ("{{ 'a' }}{{ \"b\" }}{{ 'c' 'd' }}{{ 42 }}{{ -7 }}{{ 3.5 }}{{ 1e3 }}{{ 1_000 }}", {}),
    ("{{ true }} {{ false }} {{ none }} {{ True }} {{ None }}", {}),
    ("{{ [1, 'a', none, true, [2.5]] }} {{ {'k': 'v', 'n': 1} }}", {}),
    ("{{ 'it\\'s' }} {{ \"say \\\"hi\\\"\" }} {{ 'tab\\there' }} {{ '\\u00e9\\x41\\n' }}", {}),
    ("{{ 'q\\q' }}|{{ \"it's\" }}|{{ ['it\\'s', \"a\\\"b\"] }}", {}),
    ("{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e-5 }} {{ 2.0 }} {{ -0.0 }} {{ 123456789.125 }}", {}),
    ("{{ 10 / 4 }} {{ 10 // 4 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} "
     "{{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}", {}),
    ("{{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 'ab' * 3 }} {{ [1] * 2 }}", {}),
    ("{{ 'a' ~ 1 ~ none ~ true ~ [1] }}", {}),
    ("{{ [1, 2] + [3] }} {{ 'x' + 'y' }} {{ 1 + 2.5 }} {{ true + 1 }}", {}),
    # comparisons and logic
    ("{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} "
     "{{ [1, 2] < [1, 3] }} {{ 'a' != 'a' }} {{ none == none }}", {}),
    ("{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} "
     "{{ 3 not in [1] }}", {}),
    ("{{ '' or 'x' }}|{{ 'a' and 'b' }}|{{ 0 and 1 }}|{{ none or [] }}|{{ not '' }}|"
     "{{ not 1 }}", {}),
    ("{{ 'y' if true else 'n' }}{{ 'y' if false else 'n' }}|{{ 'y' if false }}|"
     "{{ 1 if 0 else 2 if 1 else 3 }}", {}),
    # variables, attributes, items, slicing
    ("{{ m.role }} {{ m['content'] }} {{ m.missing }}|{{ l[0] }} {{ l[-1] }} {{ l[5] }}|"
     "{{ s[1] }}", {"m": {"role": "user", "content": "hi"}, "l": [1, 2, 3], "s": "héllo"}),
    ("{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ l[5:] }} {{ s[1:3] }} {{ s[::-1] }}",
     {"l": [1, 2, 3, 4], "s": "héllo"}),
    ("{{ d.items is callable }} {{ (1, 2) }} {{ (1,) }} {{ () }} {{ [(1, 'a')] }}",
     {"d": {"items": 1}}),
    ("{{ d['items'] }} {{ d.get('x') }} {{ d.get('y', 'dflt') }} {{ d.get('zz') is none }}",
     {"d": {"items": 1, "x": 2}}),
    ("{{ undefined_var }}|{{ undefined_var is defined }}|{{ undefined_var is undefined }}", {}),
    ("{{ missing.attr }}", {}, "'missing' is undefined"),
    ("{{ m.missing.deeper }}", {"m": {}}, "has no attribute 'missing'"),
    ("{{ none.attr }}|{{ 5.attr }}", {}),
    # statements
    ("{% if x %}A{% elif y %}B{% else %}C{% endif %}", {"x": 0, "y": 1}),
    ("{% for i in [1, 2, 3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
     "{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", {}),
    ("{% for i in 'abc' %}{{ loop.previtem }}-{{ i }}-{{ loop.nextitem }} {% endfor %}", {}),
    ("{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}|{% for k, v in d.items() %}{{ k }}={{ v }}"
     ";{% endfor %}|{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("{% for x in [] %}no{% else %}empty{% endfor %}|{% for x in [1, 2, 3, 4] if x is even %}"
     "{{ x }}{{ loop.index }}{{ loop.length }}{% endfor %}", {}),
    ("{% for x in [1, 2, 3, 4, 5] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}"
     "{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("{% for i in range(3) %}{% for j in range(2) %}{{ i }}{{ j }}{{ loop.index }} {% endfor %}"
     "{{ loop.index }}|{% endfor %}", {}),
    ("{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}{% for (a, b) in [(5, 6)] %}"
     "{{ a * b }}{% endfor %}", {}),
    ("{% for x in [1, 2] %}{{ loop.cycle('odd', 'even') }}{% endfor %}", {}),
    ("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}", {}),
    ("{% set ns = namespace(total=0, seen=false) %}{% for i in range(4) %}"
     "{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }} {{ ns.seen }}", {}),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = (1, 2) %}{{ t[1] }}{% set c = [3, 4] %}"
     "{% set x, y = c %}{{ x }}{{ y }}", {}),
    ("{% set v %}inner {{ 1 + 1 }}{% endset %}[{{ v }}]", {}),
    ("{% if true %}{% set leak = 'yes' %}{% endif %}{{ leak }}", {}),
    ("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
     "{{ greet('Ann') }} {{ greet('Bob', '?') }} {{ greet(name='Cy', punct='.') }}", {}),
    ("{% macro outer() %}[{{ inner() }}]{% endmacro %}{% macro inner() %}in{% endmacro %}"
     "{{ outer() }}", {}),
    ("{% raw %}{{ not parsed }}{% endraw %}", {}),
    ("{# a comment #}A{# another\nmulti-line one #}B", {}),
    # whitespace control, trim_blocks, lstrip_blocks
    ("a\n  {% if true %}\n  b\n  {% endif %}\nc", {}),
    ("a\n  {# comment #}\nb", {}),
    ("a\n  {% if true %}  \nb{% endif %}", {}),
    ("  {% if true %}x{% endif %}\n", {}),
    ("x {% if true %}y{% endif %} z", {}),
    ("{{ 'v' }}\n  {% if 1 %}z\n{% endif %}", {}),
    ("a  {%- if true -%}  b  {%- endif -%}  c", {}),
    ("a\n\n  {{- 'b' -}}  \n\nc", {}),
    ("a\n  {%+ if true %}b{% endif +%}\nc", {}),
    ("{% for i in [1, 2] %}\n  {{ i }}\n{% endfor %}\n", {}),
    ("{% for i in [1, 2] -%}\n  {{ i }}\n{%- endfor %}", {}),
    ("line1\r\nline2\r\n{% if true %}\r\nx{% endif %}\r\n", {}),
    ("  {%- if true %}a{% endif %}", {}),
    ("{% if true %}a{% endif %}\n\n", {}),
    ("{{ {'a': {'b': 1}} }}{{ {'x': [1, {'y': 2}]}['x'][1]['y'] }}", {}),
    # filters
    ("[{{ '  a b \\n' | trim }}][{{ 'xxaxx' | trim('x') }}][{{ none | trim }}][{{ 5 | trim }}]"
     "[{{ '\\u00a0a\\u3000' | trim }}]", {}),
    ("{{ 'abc' | length }} {{ [1, 2] | length }} {{ {'a': 1} | length }} {{ 'héllo' | count }} "
     "{{ u | length }}", {}),
    ("{{ 'Hello World' | upper }} {{ 'Hello World' | lower }} {{ 'hello WORLD' | capitalize }} "
     "{{ \"they're bill's friends\" | title }} {{ 'a-b c_d 3e' | title }}", {}),
    ("{{ x | tojson }}|{{ x | tojson(indent=2) }}|{{ [] | tojson(indent=2) }}|{{ {} | tojson }}|"
     "{{ 'é\"\\\\\\n\\t\\u0001' | tojson }}|{{ 1.5 | tojson }}|{{ none | tojson }}",
     {"x": {"a": [1, 2.5, "é\n\"", None, True], "b": {}, "c": {"d": []}}}),
    ("{{ u | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} "
     "{{ 0 | d('z', boolean=true) }} {{ none | default('d') }}", {}),
    ("{{ [1, 2, 3] | join }} {{ ['a', 'b'] | join(', ') }} {{ l | join('/', attribute='n') }}",
     {"l": [{"n": "x"}, {"n": "y"}]}),
    ("{{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'abc' | first }} {{ [] | first }}|"
     "{{ 'xyz' | last }}", {}),
    ("{{ 42 | string }}{{ none | string }}{{ [1] | string | length }}", {}),
    ("{{ '42' | int }} {{ '4.7' | int }} {{ 3.9 | int }} {{ 'x' | int }} {{ 'x' | int(7) }} "
     "{{ ' 12 ' | int + 1 }} {{ true | int }}", {}),
    ("{{ '2.5' | float }} {{ 3 | float }} {{ 'x' | float }}", {}),
    ("{{ 'aXbXc' | replace('X', '-') }} {{ 'aaa' | replace('a', 'b', 2) }} "
     "{{ 'ab' | replace('', '.') }}", {}),
    ("{{ msgs | selectattr('role', 'equalto', 'user') | list }}|"
     "{{ msgs | rejectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }}|"
     "{{ msgs | selectattr('flag') | list | length }}|{{ msgs | map(attribute='missing') | list }}",
     {"msgs": [{"role": "user", "content": "a", "flag": True},
               {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]}),
    ("{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} "
     "{{ [0, 1, '', 'a'] | select | list }} {{ ['a', 'b'] | map('upper') | list }} "
     "{{ [1, 2, 3] | reject('equalto', 2) | list }}", {}),
    ("{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} "
     "{{ [{'n': 2}, {'n': 1}] | sort(attribute='n') | map(attribute='n') | list }}", {}),
    ("{{ [1, 2] | reverse | list }} {{ 'abc' | reverse }} {{ {'a': 1} | list }} "
     "{{ 'ab' | list }} {{ [1, 2, 2, 'A', 'a'] | unique | list }}", {}),
    ("{{ -3 | abs }} {{ -2.5 | abs }} {{ [1, 2, 3] | sum }} {{ [{'v': 1}, {'v': 2}] | "
     "sum(attribute='v') }}", {}),
    ("{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|"
     "{{ 'a\\n\\nb' | indent(2, blank=true) }}", {}),
    ("{{ '<a href=\"x\">&\\'' | e }} {{ 'x' | safe }}", {}),
    ("{{ {'b': 1, 'a': 2} | items | list }}", {}),
    # tests
    ("{{ none is none }} {{ 1 is none }} {{ 's' is string }} {{ 1 is string }} "
     "{{ {} is mapping }} {{ [] is mapping }} {{ [] is iterable }} {{ 's' is iterable }} "
     "{{ 1 is iterable }} {{ u is iterable }} {{ none is iterable }}", {}),
    ("{{ 1 is number }} {{ 1.5 is number }} {{ 's' is number }} {{ 1 is integer }} "
     "{{ true is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ true is true }} "
     "{{ 1 is true }} {{ false is false }}", {}),
    ("{{ 3 is odd }} {{ 3 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} "
     "{{ 1 is eq 1 }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 2 is ge 2 }} {{ 2 is in [1, 2] }} "
     "{{ 'a' is in 'cat' }}", {}),
    ("{{ 1 is not none }} {{ x is not defined }} {{ 'ab' is lower }} {{ 'AB' is upper }} "
     "{{ none is sameas none }} {{ range is callable }}", {}),
    ("{{ [] is sequence }} {{ 'x' is sequence }} {{ 1 is sequence }}", {}),
    # methods
    ("{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} "
     "{{ 'hello'.startswith(('x', 'h')) }} {{ ' a '.strip() }}|{{ 'xax'.strip('x') }}|"
     "{{ '  a '.lstrip() }}|{{ ' a  '.rstrip() }}|", {}),
    ("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} "
     "{{ 'x'.split(',') }}", {}),
    ("{{ 'Hi'.upper() }} {{ 'Hi'.lower() }} {{ 'hi there'.title() }} {{ 'hI'.capitalize() }} "
     "{{ 'aXa'.replace('a', 'b') }} {{ 'hello'.find('l') }} {{ 'hello'.find('z') }} "
     "{{ '-'.join(['a', 'b']) }}", {}),
    ("{{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }}",
     {"d": {"b": 1, "a": [2]}}),
    # globals
    ("{{ range(3) | list }} {{ range(1, 4) | list }} {{ range(5, 0, -2) | list }} "
     "{{ dict(a=1, b='x') }} {{ namespace(a=1).a }}", {}),
    ("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j %p %I %y') }}",
     {}),
    # jinja2 specifics: lazy filters, frame analysis, Unicode case, Python numbers
    ("{% if [1, 2] | select('odd') %}A{% endif %}{% if [] | select('odd') %}B{% endif %}"
     "{% if [] | list %}C{% endif %}{% if {} | items %}D{% endif %}{% if u | items %}E{% endif %}"
     "|{{ [1, 2, 3] | select('odd') | list | length }} {{ (l | reverse | list)[0] }}",
     {"l": [1, 2]}),
    ("{% for j in [1] %}[{{ n }}]{% endfor %}{% set n = 5 %}|{% for j in [1] %}[{{ m }}]"
     "{% endfor %}{% if true %}{% set m = 1 %}{% endif %}|{{ n }}{{ m }}|"
     "{% for j in [1] %}{% for k in [1] %}[{{ p }}]{% endfor %}{% set p = 3 %}{% endfor %}",
     {"n": 9, "m": 8, "p": 7}),
    ("{% macro show() %}[{{ v }}]{% endmacro %}{{ show() }}{% set v = 2 %}{{ show() }}", {"v": 1}),
    ("{% for x in [] %}{% else %}{% set q = 1 %}{{ q }}{% endfor %}{{ q }}", {"q": 5}),
    ("{% for i in [1, 2, 3] %}{% set x %}{% if i == 2 %}{% break %}{% endif %}{% endset %}"
     "{{ i }}{% endfor %}", {}),
    ("{{ 'Ünïcödé straße ΑΒΓ абв ǆ ạ'.upper() }}|{{ 'ÀÉÎ ΣΤ ДЖ Ạ'.lower() }}|"
     "{{ 'éCOLE ÉTÉ 3d x'.title() }}|{{ 'élan-vital (été)' | title }}|{{ 'ÉLAN' | capitalize }}|"
     "{{ 'é' is lower }} {{ 'É1' is upper }} {{ '1' is lower }}|{{ ['b', 'Á', 'a'] | sort }}", {}),
    ("{{ 3.0 is odd }} {{ 4.0 is even }} {{ 7.5 is divisibleby 2.5 }} {{ -3 is odd }}", {}),
    ("{{ d[1, 2] }}|{{ {'a': 1}['a'] }}|{{ 10 ** 18 }}|{{ 2 ** 0.5 }}|{{ 1e308 * 10 }}",
     {"d": {}}),
    ("{{ x | select('odd') | length }}", {"x": [1]}, "has no len()"),
    ("{{ 2.0 ** 2000 }}", {}, "out of range"),
    ("{{ x[1:] }}", {"x": 5}, "not subscriptable"),
    ("{{ u | int }}", {}, "'u' is undefined"),
    ("{{ [[1], [1]] | unique | list }}", {}, "unhashable"),
    ("{{ [1] in {'a': 1} }}", {}, "unhashable"),
    ("{{ x is defined if true else 1 }}", {}, "expected"),
    # errors: every one must fail, with this text in the C++ message
    ("{{ raise_exception('Bad conversation') }}", {}, "Bad conversation"),
    ("{{ 'x' | nosuchfilter }}", {}, "no filter named 'nosuchfilter'"),
    ("{{ 1 is nosuchtest }}", {}, "no test named 'nosuchtest'"),
    ("{% if true %}never closed", {}, "expected 'endif'"),
    ("{% for x in [1] %}{% endif %}", {}, "unexpected 'endif'"),
    ("{% foo %}", {}, "unknown tag 'foo'"),
    ("{{ 1 + }}", {}, "expected an expression"),
    ("{{ 'unterminated }}", {}, "unterminated string"),
    ("{{ (1 }}", {}, "expected ')'"),
    ("{{ x", {}, "unclosed tag"),
    ("{# never closed", {}, "unclosed comment"),
    ("{{ 1 / 0 }}", {}, "division by zero"),
    ("{{ 'a' + 1 }}", {}, "unsupported operand types for +"),
    ("{{ 1 < 'a' }}", {}, "not supported between"),
    ("{{ u + 'x' }}", {}, "'u' is undefined"),
    ("{{ u() }}", {}, "'u' is undefined"),
    ("{{ 5() }}", {}, "not callable"),
    ("{% set x = 1 %}{% set x.a = 2 %}", {}, "not a namespace"),
    ("{% for a, b in [1] %}{% endfor %}", {}, "not iterable"),
    ("{{ [1] | tojson }}{{ u | tojson }}", {}, "not JSON serializable"),
    ("{{ d.update({}) }}", {"d": {}}, "unsafe"),
    ("{{ [].append(1) }}", {}, "unsafe"),
    ("{{ 'a' % 1 }}", {}, "not supported"),
    ("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", {}, "takes 1 arguments"),
    ("a{% break %}b", {}, "'break' outside a loop"),
    ("{% for i in [1] %}{% macro m() %}{% continue %}{% endmacro %}{% endfor %}", {},
     "'continue' outside a loop"),
    ("{{ 'x'.split('') }}", {}, "empty separator"),
]


def render_case(env, templates, case):
    kwargs = dict(messages=case["messages"], tools=None, documents=None,
                  add_generation_prompt=case["add_generation_prompt"],
                  bos_token=case["bos_token"], eos_token=case["eos_token"])
    kwargs.update(case.get("variables", {}))
    return env.from_string(templates[case["template"]]).render(**kwargs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "templates"))
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    (out / "expected").mkdir(parents=True, exist_ok=True)
    env = make_env()
    templates = {p.stem: p.read_text(encoding="utf-8") for p in sorted(out.glob("*.jinja"))}
    generator = f"tools/make_template_refs.py, jinja2 {jinja2.__version__}"

    cases = []
    for case in CASES:
        entry = {k: case[k] for k in ("name", "messages", "add_generation_prompt", "bos_token",
                                      "eos_token")}
        entry["template"] = case["template"] + ".jinja"
        entry["variables"] = case.get("variables", {})
        try:
            text = render_case(env, templates, case)
            path = out / "expected" / (case["name"] + ".txt")
            path.write_bytes(text.encode("utf-8"))
            entry["expected"] = "expected/" + path.name
        except jinja2.exceptions.TemplateError as e:
            entry["expected_error"] = str(e)
        cases.append(entry)
    doc = {"generator": generator, "fixed_time_unix": FIXED_TIME, "cases": cases}
    (out / "cases.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")

    units = []
    for item in UNIT:
        template, context = item[0], item[1]
        entry = {"template": template, "context": context}
        try:
            text = env.from_string(template).render(**context)
            if len(item) > 2:
                sys.exit(f"jinja2 rendered a template expected to fail: {template!r} -> {text!r}")
            entry["expected"] = text
        except (jinja2.exceptions.TemplateError, ArithmeticError, TypeError, ValueError,
                SyntaxError) as e:
            if len(item) < 3:
                sys.exit(f"jinja2 failed on {template!r}: {e}")
            entry["error"] = item[2]
        units.append(entry)
    doc = {"generator": generator, "fixed_time_unix": FIXED_TIME, "cases": units}
    (out / "unit_cases.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    print(f"wrote {len(cases)} conversations and {len(units)} unit cases to {out}")


if __name__ == "__main__":
    main()
