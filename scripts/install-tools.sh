#!/usr/bin/env bash
# Install the reference programs the `tools` tests run: classic BibTeX, biber + biblatex,
# pdfLaTeX and pandoc, from Debian's packages.
#
# Idempotent: asks apt only for packages that are not installed yet, and runs `apt-get update`
# only when something is missing. Works as root, or through sudo for a normal user.
# Prints the version of every program at the end (tests/test_reference_tools.py records them).
#
#   scripts/install-tools.sh            install what is missing, print versions
#   scripts/install-tools.sh --check    install nothing; exit 1 when a program is missing
#
# Why these packages (Debian 12, --no-install-recommends):
#   texlive-binaries           bibtex, bibtexu (Unicode BibTeX), pdftex, kpsewhich, mktextfm,
#                              dvi2tty (the consumer tests read typeset bibliographies)
#   texlive-base               plain/unsrt/alpha.bst, amssymb, the EC (T1) fonts' METAFONT
#                              sources, the format files
#   texlive-latex-base         pdflatex (LaTeX format), natbib + abbrvnat.bst, url, amsmath
#   texlive-latex-recommended  etoolbox (biblatex needs it)
#   texlive-bibtex-extra       biblatex and logreq (the only Debian package that ships them)
#   biber                      the biblatex backend, version-matched to TeX Live's biblatex
#   pandoc                     `pandoc FILE.bib -t csljson`, `pandoc --citeproc`
#   texlive-publishers         IEEEtran.bst (the IEEE BibTeX style)
#   citation-style-language-styles  apa.csl, ieee.csl, chicago-author-date.csl for pandoc
#   nodejs, npm                only when no node is on PATH
#
# Then the JavaScript readers of tests/consumers/package-lock.json (citation-js, Better BibTeX's
# @retorquere/bibtex-parser) with `npm ci`. They need node >= 22.12; when the node on PATH is
# older (Debian 12's is 18), the node-linux-<arch> build from the npm registry is put in
# tests/consumers/.node and used instead.
set -euo pipefail

PACKAGES=(
  texlive-binaries
  texlive-base
  texlive-latex-base
  texlive-latex-recommended
  texlive-bibtex-extra
  biber
  pandoc
  texlive-publishers
  citation-style-language-styles
)
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
NODE_VERSION=22.23.5
CONSUMERS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/consumers"

check_only=0
if [[ "${1:-}" == "--check" ]]; then
  check_only=1
fi

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@" || sudo "$@"
  else
    echo "install-tools: need root or sudo to run: $*" >&2
    exit 2
  fi
}

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if ((check_only)); then
    echo "install-tools: missing packages: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-tools: installing ${missing[*]}"
  start=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  echo "install-tools: installed in $(($(date +%s) - start)) s"
else
  echo "install-tools: all packages already installed"
fi

# The JavaScript consumers: a node new enough, then `npm ci` when the lock file changed.
node_ok() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null
}
NODE="$(command -v node || true)"
if [[ -z "$NODE" ]] || ! node_ok "$NODE"; then
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) arch="" ;; esac
  NODE="$CONSUMERS/.node/node_modules/node-linux-$arch/bin/node"
  if [[ -n "$arch" ]] && ! { [[ -x "$NODE" ]] && node_ok "$NODE"; }; then
    if ((check_only)); then echo "install-tools: node >= 22.12 missing" >&2; exit 1; fi
    echo "install-tools: node-linux-$arch@$NODE_VERSION from the npm registry"
    rm -rf "$CONSUMERS/.node" && mkdir -p "$CONSUMERS/.node"
    echo '{"private": true}' > "$CONSUMERS/.node/package.json"  # its own npm root
    (cd "$CONSUMERS/.node" && npm install --no-save --no-package-lock --ignore-scripts \
      --no-audit --no-fund --silent "node-linux-$arch@$NODE_VERSION")
  fi
fi
stamp="$CONSUMERS/node_modules/.installed"
if [[ ! -f "$stamp" ]] || [[ "$CONSUMERS/package-lock.json" -nt "$stamp" ]]; then
  if ((check_only)); then echo "install-tools: tests/consumers not installed" >&2; exit 1; fi
  echo "install-tools: npm ci in tests/consumers"
  (cd "$CONSUMERS" && PATH="$(dirname "$NODE"):$PATH" npm ci --ignore-scripts --no-audit \
    --no-fund --silent)
  "$NODE" --version > "$stamp"
fi

# Every program and LaTeX file the tests use must now be found.
status=0
for prog in bibtex bibtexu biber pandoc pdflatex kpsewhich dvi2tty; do
  if ! command -v "$prog" >/dev/null 2>&1; then
    echo "install-tools: $prog not found on PATH" >&2
    status=1
  fi
done
if command -v kpsewhich >/dev/null 2>&1; then
  # Keep in step with TEX_FILES in tests/test_reference_tools.py.
  for file in biblatex.sty logreq.sty etoolbox.sty natbib.sty url.sty amssymb.sty \
      plain.bst unsrt.bst alpha.bst abbrvnat.bst plainnat.bst IEEEtran.bst; do
    if [[ -z "$(kpsewhich "$file")" ]]; then
      echo "install-tools: TeX file $file not found" >&2
      status=1
    fi
  done
fi

echo "--- versions"
command -v bibtex >/dev/null 2>&1 && bibtex --version | head -n 1
command -v biber >/dev/null 2>&1 && biber --version | head -n 1
command -v pdflatex >/dev/null 2>&1 && pdflatex --version | head -n 1
command -v pandoc >/dev/null 2>&1 && pandoc --version | head -n 1
echo "node $("$NODE" --version) ($NODE)"
if command -v kpsewhich >/dev/null 2>&1 && [[ -n "$(kpsewhich biblatex.sty)" ]]; then
  sed -n 's/^\\def\\abx@version{\(.*\)}$/biblatex \1/p' "$(kpsewhich biblatex.sty)"
fi
exit "$status"
