module gpurent/relay

go 1.22
