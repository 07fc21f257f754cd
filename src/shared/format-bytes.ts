/** Byte counts as people read them (binary units, one decimal): "812 B", "977 KiB", "1.2 MiB", "4.3 GiB". */
export function formatBytes(n: number): string {
  const KiB = 1024;
  const MiB = KiB * 1024;
  const GiB = MiB * 1024;
  if (n >= GiB) return `${(n / GiB).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= KiB) return `${Math.round(n / KiB)} KiB`;
  return `${Math.max(0, Math.round(n))} B`;
}
