"""The package's structure: no import cycles (counting imports inside functions too), no
module name used twice, and every module importable."""

import ast
import collections
import importlib

import pytest

from conftest import REPO

PACKAGE = REPO / "sensitivity_tf"


def _modules():
  """Dotted name -> path of every module of the package (packages as their __init__)."""
  out = {}
  for path in PACKAGE.rglob("*.py"):
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[-1] == "__init__":
      parts = parts[:-1]
    out[".".join(parts)] = path
  return out


def _imports(name, path, modules):
  """The package modules ``name`` imports, at any depth of its code."""
  found = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      for alias in node.names:
        candidate = f"{node.module}.{alias.name}"
        found.add(candidate if candidate in modules else node.module)
    elif isinstance(node, ast.Import):
      found.update(a.name for a in node.names)
  return {m for m in found if m in modules and m != name}


def _cycle(graph):
  """One import cycle as a list of module names, or None."""
  state, stack = {}, []

  def visit(node):
    state[node] = "open"
    stack.append(node)
    for nxt in sorted(graph[node]):
      if state.get(nxt) == "open":
        return stack[stack.index(nxt):] + [nxt]
      if nxt not in state:
        found = visit(nxt)
        if found:
          return found
    stack.pop()
    state[node] = "done"
    return None

  for node in sorted(graph):
    if node not in state:
      found = visit(node)
      if found:
        return found
  return None


def test_no_import_cycle():
  modules = _modules()
  # A package's __init__ importing its own submodules is how packages re-export, not a cycle.
  graph = {name: {m for m in _imports(name, path, modules)
                  if not (path.name == "__init__.py" and m.startswith(name + "."))}
           for name, path in modules.items()}
  assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_cycle_finder_finds_a_cycle():
  assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
  assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_name_used_twice():
  names = collections.Counter(name.rsplit(".", 1)[-1] for name, path in _modules().items()
                              if path.name != "__init__.py")
  assert not [n for n, c in names.items() if c > 1], names


# The command modules define absl flags when imported, so only one of them fits in a process;
# each is run end to end by its own tests.
_COMMANDS = {f"sensitivity_tf.commands.{c}"
             for c in ("train", "evaluate_sensitivity", "survey", "reproduce")}


@pytest.mark.parametrize("name", sorted(set(_modules()) - _COMMANDS))
def test_every_module_imports(name):
  importlib.import_module(name)
