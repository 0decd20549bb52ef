"""No import cycles among drbot's modules (docs/architecture.md, "Layers").

grimp reads every import, including those inside functions and under TYPE_CHECKING, so a cycle
hidden by a function-local import is found too. `make lint` checks the direction of the layers
(import-linter, pyproject's `[tool.importlinter]`); this checks that no module reaches itself.
"""

from __future__ import annotations

import grimp

# the packages whose modules must form no cycle
ACYCLIC_PACKAGES = ("bot", "orchestration", "scheduler")


def import_cycles(graph: grimp.ImportGraph, packages: tuple[str, ...]) -> list[list[str]]:
    """The groups of two or more modules of `packages` that import each other, directly or not
    (strongly connected components, Tarjan's algorithm without recursion), each sorted."""

    def inside(module: str) -> bool:
        return module.split(".", maxsplit=1)[0] in packages

    modules = sorted(m for m in graph.modules if inside(m))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            for target in imported:
                if not inside(target):
                    continue
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                    break
                if target in on_stack:
                    low[module] = min(low[module], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


def test_the_packages_have_no_import_cycles() -> None:
    graph = grimp.build_graph(*ACYCLIC_PACKAGES, cache_dir=None)
    assert import_cycles(graph, ACYCLIC_PACKAGES) == []


def test_a_cycle_through_a_function_local_import_is_found() -> None:
    graph = grimp.ImportGraph()
    for module in ("app", "app.root", "app.engine", "app.services", "app.model", "other", "other.x"):
        graph.add_module(module)
    graph.add_import(importer="app.root", imported="app.services", line_number=1, line_contents="")
    graph.add_import(importer="app.services", imported="app.engine", line_number=1, line_contents="")
    graph.add_import(importer="app.engine", imported="app.model", line_number=1, line_contents="")
    # the engine reaching back up from inside a function closes a cycle
    graph.add_import(importer="app.engine", imported="app.root", line_number=9, line_contents="    from app")
    graph.add_import(importer="app.model", imported="other.x", line_number=1, line_contents="")
    graph.add_import(importer="other.x", imported="app.model", line_number=1, line_contents="")

    assert import_cycles(graph, ("app",)) == [["app.engine", "app.root", "app.services"]]
    assert import_cycles(graph, ("app", "other")) == [
        ["app.model", "other.x"],
        ["app.engine", "app.root", "app.services"],
    ]
