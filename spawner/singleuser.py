"""Entry point of a sandboxed notebook server: JupyterHub's single-user server, started faster.

Profiling the stock server on a 2-core machine found two costs paid at every start that a
notebook sandbox does not need:

- 1.2 s importing ``rfc3987_syntax``: jsonschema builds a Lark grammar for the rarely used
  ``iri`` format when that package is installed. Blocking the import leaves jsonschema
  without the ``iri`` format checker and nothing else; jupyter-events' schemas do not use it.
- 0.5-1.2 s in ``jupyterlab.commands._yarn_config``, which runs ``node yarn.js config`` when
  JupyterLab is imported, only to learn which npm registry to use for extension builds.
  Notebook servers never build extensions (the extension manager is read-only), so the
  default registry is used without asking node.
- 0.5 s importing ``httpx._main`` (httpx's command-line tool, which pulls in click, rich
  and pygments) when JupyterLab's PyPI extension manager imports httpx. httpx falls back to a
  stub ``main`` when that module cannot be imported; the library part is unchanged.

Kernels and terminals are separate processes and see none of this.
"""

import sys

_NO_YARN_CONFIG = {"yarn config": {}, "npm config": {}}


def main() -> None:
    # A None entry makes "import rfc3987_syntax" raise ImportError, which jsonschema expects.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
    sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]
    import jupyterlab.commands

    jupyterlab.commands._yarn_config = lambda logger: _NO_YARN_CONFIG
    from jupyterhub.singleuser import main as singleuser_main

    singleuser_main()


if __name__ == "__main__":
    main()
