/*
 * vm: a small stack-based bytecode interpreter running a loop program.
 *
 * Each instruction is one 32-bit word: the opcode in the low 8 bits and a
 * signed 24-bit immediate above it. Locals live on the operand stack, above
 * a frame pointer set by ENTER; CALL/RET keep return addresses on a separate
 * call stack. The dispatch loop is a switch (a br_table in Wasm).
 *
 * The bytecode program computes, for i in [0, n):
 *     acc = (acc * 31 + f(i)) ^ (i & 15)
 * where f(x) runs Euclid's algorithm on (7x + 1, (x ^ 0x55) + 97) and returns
 * gcd + (steps << 8). run(n) returns acc.
 */
#include <stdint.h>

enum {
    OP_HALT,
    OP_PUSH,  /* push imm */
    OP_LOAD,  /* push local[imm] */
    OP_STORE, /* local[imm] = pop */
    OP_DUP,
    OP_DROP,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_REMU,
    OP_AND,
    OP_OR,
    OP_XOR,
    OP_SHL,
    OP_SHRU,
    OP_LT,
    OP_EQ,
    OP_JMP,   /* pc = imm */
    OP_JZ,    /* if pop == 0: pc = imm */
    OP_JNZ,   /* if pop != 0: pc = imm */
    OP_CALL,  /* push return pc and frame pointer, pc = imm */
    OP_ENTER, /* frame pointer = sp - imm (imm = number of arguments) */
    OP_RET,   /* result = pop, drop the frame, return, push result */
};

#define INS(op, imm) ((int32_t)(((uint32_t)(imm) << 8) | (uint32_t)(op)))

/* Instruction indices of the jump targets in the program below. */
#define L_LOOP 3
#define L_END 23
#define L_F 25
#define L_GCD 37
#define L_DONE 50

static const int32_t program[] = {
    /* main(n): local 0 = n, 1 = i, 2 = acc */
    INS(OP_ENTER, 1),     /*  0 */
    INS(OP_PUSH, 0),      /*  1  i = 0 */
    INS(OP_PUSH, 0),      /*  2  acc = 0 */
    INS(OP_LOAD, 1),      /*  3  L_LOOP: if !(i < n) goto L_END */
    INS(OP_LOAD, 0),      /*  4 */
    INS(OP_LT, 0),        /*  5 */
    INS(OP_JZ, L_END),    /*  6 */
    INS(OP_LOAD, 2),      /*  7  acc = (acc * 31 + f(i)) ^ (i & 15) */
    INS(OP_PUSH, 31),     /*  8 */
    INS(OP_MUL, 0),       /*  9 */
    INS(OP_LOAD, 1),      /* 10 */
    INS(OP_CALL, L_F),    /* 11 */
    INS(OP_ADD, 0),       /* 12 */
    INS(OP_LOAD, 1),      /* 13 */
    INS(OP_PUSH, 15),     /* 14 */
    INS(OP_AND, 0),       /* 15 */
    INS(OP_XOR, 0),       /* 16 */
    INS(OP_STORE, 2),     /* 17 */
    INS(OP_LOAD, 1),      /* 18  i = i + 1 */
    INS(OP_PUSH, 1),      /* 19 */
    INS(OP_ADD, 0),       /* 20 */
    INS(OP_STORE, 1),     /* 21 */
    INS(OP_JMP, L_LOOP),  /* 22 */
    INS(OP_LOAD, 2),      /* 23  L_END: return acc */
    INS(OP_HALT, 0),      /* 24 */
    /* f(x): local 0 = x, 1 = a, 2 = b, 3 = steps */
    INS(OP_ENTER, 1),     /* 25  L_F */
    INS(OP_LOAD, 0),      /* 26  a = 7x + 1 */
    INS(OP_PUSH, 7),      /* 27 */
    INS(OP_MUL, 0),       /* 28 */
    INS(OP_PUSH, 1),      /* 29 */
    INS(OP_ADD, 0),       /* 30 */
    INS(OP_LOAD, 0),      /* 31  b = (x ^ 0x55) + 97 */
    INS(OP_PUSH, 0x55),   /* 32 */
    INS(OP_XOR, 0),       /* 33 */
    INS(OP_PUSH, 97),     /* 34 */
    INS(OP_ADD, 0),       /* 35 */
    INS(OP_PUSH, 0),      /* 36  steps = 0 */
    INS(OP_LOAD, 2),      /* 37  L_GCD: while b != 0 */
    INS(OP_JZ, L_DONE),   /* 38 */
    INS(OP_LOAD, 1),      /* 39  t = a % b */
    INS(OP_LOAD, 2),      /* 40 */
    INS(OP_REMU, 0),      /* 41 */
    INS(OP_LOAD, 2),      /* 42  a = b */
    INS(OP_STORE, 1),     /* 43 */
    INS(OP_STORE, 2),     /* 44  b = t */
    INS(OP_LOAD, 3),      /* 45  steps = steps + 1 */
    INS(OP_PUSH, 1),      /* 46 */
    INS(OP_ADD, 0),       /* 47 */
    INS(OP_STORE, 3),     /* 48 */
    INS(OP_JMP, L_GCD),   /* 49 */
    INS(OP_LOAD, 1),      /* 50  L_DONE: return a + (steps << 8) */
    INS(OP_LOAD, 3),      /* 51 */
    INS(OP_PUSH, 8),      /* 52 */
    INS(OP_SHL, 0),       /* 53 */
    INS(OP_ADD, 0),       /* 54 */
    INS(OP_RET, 0),       /* 55 */
};

#define STACK_SIZE 4096
#define CALL_DEPTH 256

static int32_t stack[STACK_SIZE];
static int32_t call_stack[2 * CALL_DEPTH];

static int32_t execute(const int32_t *code, int32_t arg) {
    uint32_t pc = 0;
    int32_t sp = 0, fp = 0, csp = 0;
    stack[sp++] = arg;
    for (;;) {
        int32_t word = code[pc++];
        int32_t imm = word >> 8;
        int32_t a, b;
        switch (word & 0xff) {
        case OP_HALT:
            return stack[sp - 1];
        case OP_PUSH:
            stack[sp++] = imm;
            break;
        case OP_LOAD:
            stack[sp] = stack[fp + imm];
            sp++;
            break;
        case OP_STORE:
            stack[fp + imm] = stack[--sp];
            break;
        case OP_DUP:
            stack[sp] = stack[sp - 1];
            sp++;
            break;
        case OP_DROP:
            sp--;
            break;
        case OP_ADD:
            b = stack[--sp];
            stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] + (uint32_t)b);
            break;
        case OP_SUB:
            b = stack[--sp];
            stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] - (uint32_t)b);
            break;
        case OP_MUL:
            b = stack[--sp];
            stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] * (uint32_t)b);
            break;
        case OP_REMU:
            b = stack[--sp];
            stack[sp - 1] = b ? (int32_t)((uint32_t)stack[sp - 1] % (uint32_t)b) : 0;
            break;
        case OP_AND:
            b = stack[--sp];
            stack[sp - 1] &= b;
            break;
        case OP_OR:
            b = stack[--sp];
            stack[sp - 1] |= b;
            break;
        case OP_XOR:
            b = stack[--sp];
            stack[sp - 1] ^= b;
            break;
        case OP_SHL:
            b = stack[--sp];
            stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] << (b & 31));
            break;
        case OP_SHRU:
            b = stack[--sp];
            stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] >> (b & 31));
            break;
        case OP_LT:
            b = stack[--sp];
            stack[sp - 1] = stack[sp - 1] < b;
            break;
        case OP_EQ:
            b = stack[--sp];
            stack[sp - 1] = stack[sp - 1] == b;
            break;
        case OP_JMP:
            pc = (uint32_t)imm;
            break;
        case OP_JZ:
            if (stack[--sp] == 0)
                pc = (uint32_t)imm;
            break;
        case OP_JNZ:
            if (stack[--sp] != 0)
                pc = (uint32_t)imm;
            break;
        case OP_CALL:
            call_stack[csp++] = (int32_t)pc;
            call_stack[csp++] = fp;
            pc = (uint32_t)imm;
            break;
        case OP_ENTER:
            fp = sp - imm;
            break;
        case OP_RET:
            a = stack[--sp];
            sp = fp;
            fp = call_stack[--csp];
            pc = (uint32_t)call_stack[--csp];
            stack[sp++] = a;
            break;
        default:
            return -1;
        }
    }
}

int run(int n) {
    return execute(program, n);
}
