// raftkv-bench: the bundled load generator. See app.h and options.cc.
#include <iostream>

#include "app.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  return raftkv::bench::bench_main(argc, argv, std::cout, std::cerr);
}
