"""Entry point of a sandboxed notebook server: JupyterHub's single-user server, started faster.

Profiling the stock server on a 2-core machine showed 1.2 s of every start spent importing
``rfc3987_syntax`` (jsonschema builds a Lark grammar for the rarely used ``iri`` format when
that package is installed). Blocking that import leaves jsonschema without the ``iri`` format
checker and nothing else; jupyter-events' schemas do not use it.
"""

import sys


def main() -> None:
    # A None entry makes "import rfc3987_syntax" raise ImportError, which jsonschema expects.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
    from jupyterhub.singleuser import main as singleuser_main

    singleuser_main()


if __name__ == "__main__":
    main()
