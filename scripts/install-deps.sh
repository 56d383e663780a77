#!/usr/bin/env bash
# Installs every Debian package needed to build, test and run Raft Village.
# Uses sudo when not run as root. Safe to run more than once.
set -euo pipefail

packages=(
  build-essential pkg-config clang clang-format
  libinih-dev libjson-c-dev libsdl2-dev libsdl2-ttf-dev fonts-dejavu-core
  libedit-dev libcriterion-dev zlib1g-dev
  libfuse3-dev fuse3
  python3 tmux procps netcat-openbsd iproute2
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
