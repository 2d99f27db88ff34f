# shellcheck shell=bash
# shellcheck disable=SC2154 # the image names, CACHE, fail and quietly come from the caller
#
# Base images for scripts/compose-smoke.sh (sourced by it), made locally because no
# container registry is reachable in CI: Debian root filesystems from `debootstrap` (the
# mirror apt already uses) and, on top of them, the Rust builder and Postgres 17 stand-ins
# of rust.Containerfile and postgres.Containerfile. Each image carries the hash of its recipe
# and is reused while that is unchanged.

ROOTFS_RECIPE=2 # bump when make_rootfs_image changes what goes into the Debian base images

debian_mirror() { # the mirror apt already uses (a registry-free source of Debian packages)
  if [[ -n "${JQP_SMOKE_MIRROR:-}" ]]; then
    echo "$JQP_SMOKE_MIRROR"
    return
  fi
  local url
  url="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | grep -Eo '(https?://[^ ]+/debian)/?( |$)' | head -n 1 | tr -d ' ' || true)"
  echo "${url:-http://deb.debian.org/debian}"
}

# Each base image carries the hash of what it was made from (label jqp.smoke.recipe), so a
# changed recipe, toolchain or CA set remakes it and an unchanged one is reused.
image_current() { # image_current TAG HASH
  [[ "${JQP_SMOKE_REBUILD_BASE:-0}" != 1 ]] \
    && [[ "$(podman image inspect --format '{{index .Labels "jqp.smoke.recipe"}}' "$1" 2>/dev/null)" == "$2" ]]
}
recipe_hash() { cat "$@" | sha256sum | cut -c1-16; }

# Extra CAs the host trusts (e.g. a TLS-intercepting egress proxy in CI): the builder needs
# them to reach crates.io from inside the build.
extra_cas() { find /usr/local/share/ca-certificates -name '*.crt' -type f 2>/dev/null | sort; }

# debootstrap SUITE into a rootfs and import it as TAG (trimmed like Debian's -slim images).
make_rootfs_image() { # make_rootfs_image SUITE TAG HASH
  local suite="$1" tag="$2" hash="$3" mirror dir
  mirror="$(debian_mirror)"
  dir="$(mktemp -d "${TMPDIR:-/tmp}/jqp-smoke-rootfs.XXXXXX")"
  echo "   debootstrap $suite from $mirror"
  if ! debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$dir.log" 2>&1; then
    tail -n 20 "$dir.log" >&2
    rm -rf "$dir" "$dir.log"
    fail "debootstrap $suite"
  fi
  {
    echo "deb $mirror $suite main"
    echo "deb $mirror $suite-updates main"
    # Security updates too, when the host's apt uses them from the same mirror.
    if grep -qs "${mirror}-security" /etc/apt/sources.list /etc/apt/sources.list.d/*; then
      echo "deb ${mirror}-security $suite-security main"
    fi
  } >"$dir/etc/apt/sources.list"
  cat >"$dir/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  # Like Debian's official images: apt keeps no .deb files and no binary package caches
  # (without this every `apt-get install` layer keeps tens of MB of /var/cache/apt), and
  # fetches no translations.
  cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
  find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$dir"/usr/share/{man,info,locale,lintian}/* "$dir"/var/cache/apt/*.bin \
    "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log "$dir"/var/cache/debconf/*-old
  tar --numeric-owner -C "$dir" -c -f "$dir.tar" .
  rm -rf "$dir" "$dir.log"
  quietly "import $tag" podman import --change 'CMD ["bash"]' --change "LABEL jqp.smoke.recipe=$hash" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$dir.tar" "$tag"
  rm -f "$dir.tar"
}

make_base_images() {
  local h ca
  h="$(echo "rootfs v$ROOTFS_RECIPE $(debian_mirror)" | recipe_hash /dev/stdin)"
  if image_current "$DEBIAN_IMAGE" "$h"; then
    echo "   reuse $DEBIAN_IMAGE"
  else
    make_rootfs_image bookworm "$DEBIAN_IMAGE" "$h"
  fi
  if ! image_current "$TRIXIE_IMAGE" "$h"; then
    make_rootfs_image trixie "$TRIXIE_IMAGE" "$h"
  fi

  rustc --version | grep -q "^rustc $RUST_MINOR\." \
    || fail "the builder stand-in copies the host toolchain, which must be Rust $RUST_MINOR (found: $(rustc --version))"
  mapfile -t ca < <(extra_cas)
  h="$(rustc -vV | cat - docker/smoke/rust.Containerfile "${ca[@]}" <(podman image inspect --format '{{.Id}}' "$DEBIAN_IMAGE") | recipe_hash /dev/stdin)"
  if image_current "$RUST_IMAGE" "$h"; then
    echo "   reuse $RUST_IMAGE"
  else
    local sysroot ctx
    sysroot="$(rustc --print sysroot)"
    ctx="$(mktemp -d "${TMPDIR:-/tmp}/jqp-smoke-rust.XXXXXX")"
    cp docker/smoke/rust.Containerfile "$ctx/Containerfile"
    mkdir "$ctx/extra-ca"
    ((${#ca[@]})) && cp "${ca[@]}" "$ctx/extra-ca/"
    # Hard links when on the same filesystem (instant), else a copy; docs are not needed.
    cp -al "$sysroot" "$ctx/toolchain" 2>/dev/null || cp -a "$sysroot" "$ctx/toolchain"
    rm -rf "$ctx/toolchain/share/doc"
    echo "   build $RUST_IMAGE (host toolchain $(rustc --version | cut -d' ' -f2))"
    quietly "build $RUST_IMAGE" podman build --pull=never --build-arg "BASE=$DEBIAN_IMAGE" \
      --label "jqp.smoke.recipe=$h" -t "$RUST_IMAGE" "$ctx"
    rm -rf "$ctx"
  fi

  h="$(cat docker/smoke/postgres.Containerfile docker/smoke/postgres-entrypoint.sh \
    <(podman image inspect --format '{{.Id}}' "$TRIXIE_IMAGE") | recipe_hash /dev/stdin)"
  if image_current "$POSTGRES_IMAGE" "$h"; then
    echo "   reuse $POSTGRES_IMAGE"
  else
    echo "   build $POSTGRES_IMAGE"
    quietly "build $POSTGRES_IMAGE" podman build --pull=never --build-arg "BASE=$TRIXIE_IMAGE" \
      --label "jqp.smoke.recipe=$h" -t "$POSTGRES_IMAGE" -f docker/smoke/postgres.Containerfile docker/smoke
  fi
}
