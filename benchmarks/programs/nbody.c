/*
 * nbody: gravitational n-body simulation in double precision.
 *
 * Sixteen bodies with pseudo-random masses, positions and velocities (from a
 * xorshift generator) are advanced n steps with a symplectic Euler
 * integrator: all pairwise forces (with a softening term, one sqrt and one
 * division per pair), then the positions. The checksum hashes the exact bit
 * patterns of the total energy and of every final position.
 */
#include <stdint.h>

#define BODIES 16
#define DT 0.001
#define SOFTENING 0.01

struct body {
    double x, y, z;
    double vx, vy, vz;
    double mass;
};

static struct body bodies[BODIES];
static uint32_t rng;

static double uniform(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return (double)(rng >> 8) / 16777216.0; /* [0, 1) */
}

static void init_bodies(void) {
    rng = 0x2545f491u;
    for (int i = 0; i < BODIES; i++) {
        struct body *b = &bodies[i];
        b->x = uniform() * 20.0 - 10.0;
        b->y = uniform() * 20.0 - 10.0;
        b->z = uniform() * 2.0 - 1.0;
        b->vx = uniform() - 0.5;
        b->vy = uniform() - 0.5;
        b->vz = (uniform() - 0.5) * 0.1;
        b->mass = 0.5 + uniform();
    }
    bodies[0].mass = 50.0; /* a heavy "sun" keeps the system bound */
    bodies[0].x = bodies[0].y = bodies[0].z = 0.0;
    bodies[0].vx = bodies[0].vy = bodies[0].vz = 0.0;
}

static void advance(void) {
    for (int i = 0; i < BODIES; i++) {
        struct body *bi = &bodies[i];
        for (int j = i + 1; j < BODIES; j++) {
            struct body *bj = &bodies[j];
            double dx = bi->x - bj->x;
            double dy = bi->y - bj->y;
            double dz = bi->z - bj->z;
            double d2 = dx * dx + dy * dy + dz * dz + SOFTENING;
            double dist = __builtin_sqrt(d2);
            double mag = DT / (d2 * dist);
            double mi = bi->mass * mag;
            double mj = bj->mass * mag;
            bi->vx -= dx * mj;
            bi->vy -= dy * mj;
            bi->vz -= dz * mj;
            bj->vx += dx * mi;
            bj->vy += dy * mi;
            bj->vz += dz * mi;
        }
    }
    for (int i = 0; i < BODIES; i++) {
        struct body *b = &bodies[i];
        b->x += DT * b->vx;
        b->y += DT * b->vy;
        b->z += DT * b->vz;
    }
}

static double energy(void) {
    double e = 0.0;
    for (int i = 0; i < BODIES; i++) {
        struct body *bi = &bodies[i];
        e += 0.5 * bi->mass * (bi->vx * bi->vx + bi->vy * bi->vy + bi->vz * bi->vz);
        for (int j = i + 1; j < BODIES; j++) {
            struct body *bj = &bodies[j];
            double dx = bi->x - bj->x;
            double dy = bi->y - bj->y;
            double dz = bi->z - bj->z;
            e -= bi->mass * bj->mass / __builtin_sqrt(dx * dx + dy * dy + dz * dz + SOFTENING);
        }
    }
    return e;
}

static uint32_t mix_double(uint32_t h, double d) {
    union {
        double d;
        uint64_t u;
    } v;
    v.d = d;
    h = (h ^ (uint32_t)v.u) * 0x01000193u;
    h = (h ^ (uint32_t)(v.u >> 32)) * 0x01000193u;
    return h;
}

int run(int n) {
    init_bodies();
    uint32_t h = mix_double(2166136261u, energy());
    for (int step = 0; step < n; step++)
        advance();
    h = mix_double(h, energy());
    for (int i = 0; i < BODIES; i++) {
        h = mix_double(h, bodies[i].x);
        h = mix_double(h, bodies[i].y);
        h = mix_double(h, bodies[i].z);
    }
    return (int)h;
}
