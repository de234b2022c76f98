"""The repository stands on its own: README, docs, code and configs name no path outside it,
and the README's and docs' links point at files inside it. (Tests may read local data copies
from outside; they are not scanned.)"""

import re

import tensorflow as tf

from conftest import REPO

SCANNED_FILES = ("README.md", "setup.py", "setup.sh", "pytest.ini", ".ci/run")
SCANNED_DIRS = ("docs", "sensitivity_tf", "bin", "configs", "benchmarks")
BINARY = {".png", ".pdf", ".jpg", ".h5", ".keras", ".parquet", ".gz", ".npz", ".pyc"}

# A parent-relative path, or an absolute path into a machine's own layout.
OUTSIDE = re.compile(r"\.\./|(?<![\w.~$<>\-])/(?:work|home|root|tmp|mnt|media|shared|srv|opt|"
                     r"usr|var|data|Users|etc|nonexistent)\b")
# Where a public package installs files, named only where the code or setup uses it.
ALLOWED = {
    "#!/usr/bin/env": None,  # any shebang
    "/usr/share/datasets/fashion-mnist": {"sensitivity_tf/data/registry.py",
                                          "sensitivity_tf/data/sources.py", "setup.sh"},
}


def scanned():
  files = [REPO / f for f in SCANNED_FILES if (REPO / f).is_file()]
  for folder in SCANNED_DIRS:
    files += [p for p in (REPO / folder).rglob("*")
              if p.is_file() and p.suffix not in BINARY and "__pycache__" not in p.parts]
  return sorted(files)


def _link_inside(path, line, start):
  """Whether the ``../`` at ``start`` opens a Markdown link target that stays inside the
  repository (``docs/x.md`` linking ``../README.md``)."""
  if not line[:start].endswith("]("):
    return False
  target = line[start:].split(")", 1)[0].split("#", 1)[0]
  resolved = (path.parent / target).resolve()
  return resolved.is_relative_to(REPO) and resolved.exists()


def outside_paths(path, text):
  relative = path.relative_to(REPO).as_posix()
  found = []
  for number, line in enumerate(text.splitlines(), 1):
    for match in OUTSIDE.finditer(line):
      allowed = [a for a, where in ALLOWED.items()
                 if line.find(a) != -1 and line.find(a) <= match.start() < line.find(a) + len(a)
                 + 1 and (where is None or relative in where)]
      if not allowed and not _link_inside(path, line, match.start()):
        found.append(f"{relative}:{number}: {line.strip()}")
  return found


class SelfContainedTest(tf.test.TestCase):

  def test_no_path_outside_the_repository(self):
    files = scanned()
    self.assertGreater(len(files), 50)
    found = [hit for p in files for hit in outside_paths(p, p.read_text(errors="replace"))]
    self.assertEmpty(found, "paths outside the repository:\n" + "\n".join(found))

  def test_the_check_catches_what_it_should(self):
    readme = REPO / "README.md"
    for bad in ("see ../shared/SPEC.md", "[spec](../shared/SPEC.md)",
                "--data_dir=/work/shared/data", "`/home/me/x`", "--results_dir=/shared/survey",
                "/usr/share/datasets/fashion-mnist"):
      self.assertNotEmpty(outside_paths(readme, bad), bad)
    for fine in ("docs/method.md", "runs/<dataset>/", "x / 255", "a/b", "~/.cache/x",
                 "#!/usr/bin/env python3", "$DATA/mnist.npz"):
      self.assertEmpty(outside_paths(readme, fine), fine)
    # A guide page linking back to the README stays inside; one level further does not.
    self.assertEmpty(outside_paths(REPO / "docs" / "method.md", "[guide](../README.md)"))
    self.assertNotEmpty(outside_paths(REPO / "docs" / "method.md", "[x](../../README.md)"))

  def test_markdown_links_stay_inside(self):
    docs = [REPO / "README.md"] + sorted((REPO / "docs").rglob("*.md"))
    broken = []
    for doc in docs:
      for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
        if re.match(r"[a-z]+://|#|mailto:", target):
          continue
        resolved = (doc.parent / target.split("#")[0]).resolve()
        if not resolved.exists() or REPO.resolve() not in resolved.parents:
          broken.append(f"{doc.relative_to(REPO)}: {target}")
    self.assertEmpty(broken, "links that leave the repository or point nowhere:\n"
                     + "\n".join(broken))

  def test_code_map_names_every_module(self):
    """The README's code map has a line for every module (the one-module-per-figure and
    one-module-per-command folders as a whole)."""
    readme = (REPO / "README.md").read_text()
    code_map = readme[readme.index("## Code map"):]
    code_map = code_map[:code_map.index("```\n", code_map.index("```") + 3)]
    missing = []
    for path in sorted((REPO / "sensitivity_tf").rglob("*.py")):
      relative = path.relative_to(REPO / "sensitivity_tf")
      if path.name == "__init__.py":
        entry = f"{relative.parent.name}/" if relative.parent.parts else None
      elif relative.parent.name in ("experiments", "commands"):
        entry = f"{relative.parent.name}/"
      else:
        entry = path.name
      if entry and not any(line.split()[:1] == [entry] for line in code_map.splitlines()
                           if line.strip()):
        missing.append(str(relative))
    self.assertEmpty(missing, "modules missing from the README's code map")
    modules = {p.name for p in (REPO / "sensitivity_tf").rglob("*.py")}
    listed = [line.split()[0] for line in code_map.splitlines()
              if line.strip() and line.split()[0].endswith(".py")]
    self.assertNotEmpty(listed)
    self.assertEmpty([m for m in listed if m not in modules],
                     "the README's code map lists modules that do not exist")


if __name__ == "__main__":
  tf.test.main()
