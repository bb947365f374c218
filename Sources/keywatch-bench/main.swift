// Benchmark entry point; filled in below.
print("keywatch-bench")
