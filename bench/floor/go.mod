module gpurent/bench/floor

go 1.22
