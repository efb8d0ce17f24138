// A .wts reader in the style of tensorrtx's C++ loadWeights (the reference that wts_bench.py times):
// an std::ifstream, the entry count read with `>> std::dec`, then per entry the name, the value count
// (`>> std::dec`) and every value as one `>> std::hex` into a uint32_t. Written for netdef's benchmark.
//
// usage: wts_iostream_reader FILE [REPEATS]
// prints one line: "<seconds of the fastest run> <entries> <values> <xor of all bit patterns>"
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

struct Blob {
    std::vector<uint32_t> bits;  // the float32 bit patterns, as the TensorRT Weights would point to
};

static bool read_wts(const char* path, std::map<std::string, Blob>& out) {
    std::ifstream in(path);
    if (!in) return false;
    int32_t entries = 0;
    in >> std::dec >> entries;
    for (int32_t e = 0; e < entries; ++e) {
        std::string name;
        uint32_t count = 0;
        in >> name >> std::dec >> count;
        Blob blob;
        blob.bits.resize(count);
        for (uint32_t i = 0; i < count; ++i) in >> std::hex >> blob.bits[i];
        if (!in) return false;
        out[name] = std::move(blob);
    }
    return true;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FILE [REPEATS]\n", argv[0]);
        return 2;
    }
    int repeats = argc > 2 ? std::atoi(argv[2]) : 1;
    double best = 1e30;
    std::map<std::string, Blob> weights;
    for (int r = 0; r < repeats; ++r) {
        weights.clear();
        auto t0 = std::chrono::steady_clock::now();
        bool ok = read_wts(argv[1], weights);
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!ok) {
            std::fprintf(stderr, "%s: malformed .wts\n", argv[1]);
            return 1;
        }
        if (s < best) best = s;
    }
    unsigned long long values = 0;
    uint32_t check = 0;
    for (const auto& kv : weights) {
        values += kv.second.bits.size();
        for (uint32_t b : kv.second.bits) check ^= b;
    }
    std::printf("%.6f %zu %llu %u\n", best, weights.size(), values, check);
    return 0;
}
