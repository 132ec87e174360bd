"""The provider agent: turns a machine into a gpurent provider (``gpurent-provider run``)."""
