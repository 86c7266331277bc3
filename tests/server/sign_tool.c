/*
 * sign_tool.c — signs a call the way docs/http.md says, for the tests:
 *   sign_tool SEED_HEX METHOD PATH TIMESTAMP < INPUT
 * prints the signer's public key and the signature, in hex, one a line.
 * SEED_HEX is 64 hex digits (the ed25519 seed), so tests choose their keys.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 5 || sodium_init() < 0) {
        fprintf(stderr, "usage: sign_tool SEED_HEX METHOD PATH TIMESTAMP < INPUT\n");
        return 2;
    }
    uint8_t seed[32], pk[32], sk[64], sig[64], sum[32];
    size_t got = 0;
    if (sodium_hex2bin(seed, sizeof seed, argv[1], strlen(argv[1]), NULL, &got, NULL) != 0 ||
        got != sizeof seed) {
        fprintf(stderr, "sign_tool: the seed must be 64 hex digits\n");
        return 2;
    }
    crypto_sign_seed_keypair(pk, sk, seed);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    uint8_t buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        crypto_hash_sha256_update(&st, buf, n);
    crypto_hash_sha256_final(&st, sum);
    char sum_hex[65], pk_hex[65], sig_hex[129];
    sodium_bin2hex(sum_hex, sizeof sum_hex, sum, sizeof sum);
    size_t mlen = strlen(argv[2]) + strlen(argv[3]) + strlen(argv[4]) + 100;
    char *m = malloc(mlen);
    if (!m)
        return 1;
    int ml = snprintf(m, mlen, "weft-call-v1\n%s\n%s\n%s\n%s", argv[2], argv[3], argv[4], sum_hex);
    crypto_sign_detached(sig, NULL, (const uint8_t *)m, (size_t)ml, sk);
    sodium_bin2hex(pk_hex, sizeof pk_hex, pk, sizeof pk);
    sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);
    printf("%s\n%s\n", pk_hex, sig_hex);
    free(m);
    return 0;
}
