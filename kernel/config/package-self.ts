/**
 * The running gateway's own package API, for a config that imports `openclaw-gateway` without a
 * copy of its own beside it. The package entry hands it in when it loads (a seam instead of the
 * loader requiring the kernel's index, which would put the config loader in an import circle).
 */
let self: unknown;

/** Called by a package entry with its exports; the last (outermost) entry to load wins. */
export function providePackageSelf(exports: unknown): void {
  self = exports;
}

export function packageSelf(): unknown {
  return self;
}
