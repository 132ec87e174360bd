# gpurent's sample job: says where it runs and what it was given, renders a small Mandelbrot set
# (a stand-in for a GPU kernel) and runs a few "training" steps, one second each.
bb=/bin/busybox
echo "gpurent sample job"
echo "  job        ${GPURENT_JOB_ID:-?}"
echo "  container  $($bb hostname), kernel $($bb uname -r), $($bb nproc) CPU(s)"
if [ -n "${NVIDIA_VISIBLE_DEVICES:-}" ]; then
  echo "  gpu        $NVIDIA_VISIBLE_DEVICES"
else
  echo "  gpu        none visible (no NVIDIA hardware on this provider)"
fi
links=$($bb ls /sys/class/net 2>/dev/null | $bb grep -vc '^lo$')
echo "  network    $links interface(s) besides loopback; scratch at ${GPURENT_SCRATCH:-/scratch}"
echo
$bb awk 'BEGIN {
  shades = " .:-=+*#%@"
  for (y = -1.1; y <= 1.1; y += 0.1375) {
    row = ""
    for (x = -2.05; x <= 0.6; x += 0.04) {
      zr = 0; zi = 0; n = 0
      while (zr * zr + zi * zi < 4 && n < 60) { t = zr * zr - zi * zi + x; zi = 2 * zr * zi + y; zr = t; n++ }
      row = row substr(shades, n == 60 ? 10 : n % 9 + 1, 1)
    }
    print "  " row
  }
}'
echo
loss=1000
for step in 1 2 3 4 5; do
  loss=$((loss * 6 / 10))
  echo "  step $step/5  loss 0.$(printf %03d $loss)"
  $bb sleep 1
done
echo "done"
