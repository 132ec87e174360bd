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
# inputs (read-only) the job definition mounted at /data, if any: the number of iterations
iters=60
if [ -r /data/params ]; then
  iters=$($bb sed -n 's/^iterations=\([0-9][0-9]*\)$/\1/p' /data/params | $bb head -n 1)
  echo "  input      /data/params: iterations=${iters:-?}"
  iters=${iters:-60}
fi
render() {
  $bb awk -v iters="$iters" 'BEGIN {
  shades = " .:-=+*#%@"
  for (y = -1.1; y <= 1.1; y += 0.1375) {
    row = ""
    for (x = -2.05; x <= 0.6; x += 0.04) {
      zr = 0; zi = 0; n = 0
      while (zr * zr + zi * zi < 4 && n < iters) { t = zr * zr - zi * zi + x; zi = 2 * zr * zi + y; zr = t; n++ }
      row = row substr(shades, n == iters ? 10 : n % 9 + 1, 1)
    }
    print "  " row
  }
}'
}
render
if [ -d /outputs ] && [ -w /outputs ]; then  # the definition's output path: packed into the result
  render > /outputs/mandelbrot.txt
  echo "  wrote /outputs/mandelbrot.txt ($($bb wc -c < /outputs/mandelbrot.txt) bytes)"
fi
echo
loss=1000
for step in 1 2 3 4 5; do
  loss=$((loss * 6 / 10))
  echo "  step $step/5  loss 0.$(printf %03d $loss)"
  $bb sleep 1
done
echo "done"
