/* examples/mlp_train.c — the kernels by hand: a two-layer MLP (matmul, gelu, matmul,
   cross-entropy) trained with AdamW to tell which quadrant a 2-D point lies in.
   Shows the calling conventions: forward saves what backward needs, backward accumulates
   into zeroed gradients, one static arena, no malloc.
   Build and run:  make examples && ./build/mlp_train [--steps N] */
#define CK_IMPLEMENTATION
#include "ckernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 64, IN = 2, HID = 32, OUT = 4 };

/* one arena carved into named tensors: parameters, their gradients, AdamW moments, activations */
enum { N_W1 = HID * IN, N_B1 = HID, N_W2 = OUT * HID, N_B2 = OUT, N_PARAMS = N_W1 + N_B1 + N_W2 + N_B2 };
static float params[N_PARAMS], grads[N_PARAMS], adam_m[N_PARAMS], adam_v[N_PARAMS];
static float x[B * IN], h_pre[B * HID], h[B * HID], logits[B * OUT], probs[B * OUT], losses[B];
static float dh_pre[B * HID], dh[B * HID], dlogits[B * OUT];
static int32_t y[B];

static uint32_t rng = 1234567u;
static float frand(void) { rng = rng * 1664525u + 1013904223u; return (float)(rng >> 8) / 16777216.0f * 2.0f - 1.0f; }

int main(int argc, char **argv)
{
    float *w1 = params, *b1 = w1 + N_W1, *w2 = b1 + N_B1, *b2 = w2 + N_W2;
    float *dw1 = grads, *db1 = dw1 + N_W1, *dw2 = db1 + N_B1, *db2 = dw2 + N_W2;
    int steps = 300, step, i;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else {
            printf("usage: %s [--steps N]\n  trains a 2-%d-%d MLP with ckernel's kernels and prints the loss\n", argv[0], HID, OUT);
            return strcmp(argv[i], "--help") && strcmp(argv[i], "-h") ? 2 : 0;
        }
    }
    for (i = 0; i < N_W1; i++) w1[i] = frand() * 0.7f;
    for (i = 0; i < N_W2; i++) w2[i] = frand() * 0.17f;
    for (step = 1; step <= steps; step++) {
        float loss;
        for (i = 0; i < B; i++) { /* a fresh batch: label = quadrant of the point */
            x[2 * i] = frand();
            x[2 * i + 1] = frand();
            y[i] = (x[2 * i] > 0) + 2 * (x[2 * i + 1] > 0);
        }
        /* forward */
        ck_matmul_forward(h_pre, x, w1, b1, B, IN, HID);
        ck_gelu_forward(h, h_pre, B * HID);
        ck_matmul_forward(logits, h, w2, b2, B, HID, OUT);
        loss = ck_cross_entropy_forward(losses, probs, logits, y, B, OUT, -1);
        /* backward: gradients accumulate, so zero them first */
        memset(grads, 0, sizeof grads);
        memset(dlogits, 0, sizeof dlogits); memset(dh, 0, sizeof dh); memset(dh_pre, 0, sizeof dh_pre);
        ck_cross_entropy_backward(dlogits, probs, y, B, OUT, -1, 1.0f);
        ck_matmul_backward(dh, dw2, db2, dlogits, h, w2, B, HID, OUT);
        ck_gelu_backward(dh_pre, dh, h_pre, B * HID);
        ck_matmul_backward(NULL, dw1, db1, dh_pre, x, w1, B, IN, HID);
        ck_adamw_update(params, grads, adam_m, adam_v, N_PARAMS, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f, step);
        if (step == 1 || step % 50 == 0) printf("step %4d  loss %.4f  grad norm %.3f\n", step, loss, ck_grad_norm(grads, N_PARAMS));
    }
    return 0;
}
