/* check.h - a tiny TAP test helper for the runtime's C tests. */
#ifndef CHECK_H
#define CHECK_H
#include <math.h>
#include <stdio.h>

static int check_n = 0, check_failed = 0;

/* cond is evaluated once: it may call the code under test. */
#define CHECK(cond, ...) do { \
    int check_ok_ = (cond) ? 1 : 0; \
    check_n++; \
    if (check_ok_) printf("ok %d - ", check_n); \
    else { printf("not ok %d - ", check_n); check_failed++; } \
    printf(__VA_ARGS__); \
    if (!check_ok_) printf(" (%s:%d: %s)", __FILE__, __LINE__, #cond); \
    printf("\n"); \
  } while (0)

#define CHECK_NEAR(a, b, tol, ...) CHECK(fabs((double)(a) - (double)(b)) <= (tol), __VA_ARGS__)

static int check_done(void) {
  printf("1..%d\n", check_n);
  return check_failed ? 1 : 0;
}
#endif
