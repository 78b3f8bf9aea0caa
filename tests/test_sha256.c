// SHA-256 against the FIPS 180-4 / NIST example vectors, split updates and whole files.
#include "runtime/sha256.h"
#include "tests/test.h"

static void hex_of(const char *msg, size_t n, char hex[RT_SHA256_HEX_LEN + 1]) {
    rt_sha256_buffer_hex(msg, n, hex);
}

static void test_known_vectors(void) {
    char hex[RT_SHA256_HEX_LEN + 1];
    hex_of("", 0, hex);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(m448, strlen(m448), hex);
    CHECK_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    hex_of(m896, strlen(m896), hex);
    CHECK_EQ_STR(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a_in_odd_pieces(void) {
    // One million 'a' fed in pieces of 1..97 bytes, so that every fill level of the block is hit.
    static char a[1000];
    memset(a, 'a', sizeof a);
    rt_sha256 s;
    rt_sha256_init(&s);
    size_t done = 0, step = 1;
    while (done < 1000000) {
        size_t n = RT_MIN(step, 1000000 - done);
        rt_sha256_update(&s, a, n);
        done += n;
        step = step % 97 + 1;
    }
    uint8_t d[RT_SHA256_LEN];
    char hex[RT_SHA256_HEX_LEN + 1];
    rt_sha256_final(&s, d);
    rt_sha256_hex(d, hex);
    CHECK_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_padding_boundaries(void) {
    // Lengths around the 55/56/64-byte padding edges must agree with a one-byte-at-a-time feed.
    char buf[200];
    for (int i = 0; i < 200; i++) buf[i] = (char)(i * 7 + 3);
    for (size_t n = 50; n <= 130; n++) {
        char one[RT_SHA256_HEX_LEN + 1], bytes[RT_SHA256_HEX_LEN + 1];
        rt_sha256_buffer_hex(buf, n, one);
        rt_sha256 s;
        uint8_t d[RT_SHA256_LEN];
        rt_sha256_init(&s);
        for (size_t i = 0; i < n; i++) rt_sha256_update(&s, buf + i, 1);
        rt_sha256_final(&s, d);
        rt_sha256_hex(d, bytes);
        CHECK_EQ_STR(one, bytes);
    }
}

static void test_file(void) {
    char path[4096], cmd[8300], out[256], hex[RT_SHA256_HEX_LEN + 1];
    snprintf(path, sizeof path, "%s/blob.bin", test_tmpdir());
    static uint8_t blob[3 * 1024 * 1024 + 17]; // crosses the 1 MiB read chunks
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = (uint8_t)(i * 2654435761u >> 13);
    test_write_file(path, blob, sizeof blob);
    CHECK_EQ_INT(rt_sha256_file_hex(path, hex), RT_OK);
    char mem[RT_SHA256_HEX_LEN + 1];
    rt_sha256_buffer_hex(blob, sizeof blob, mem);
    CHECK_EQ_STR(hex, mem);
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    if (test_run_cmd(cmd, out, sizeof out) == 0) CHECK(strncmp(out, hex, 64) == 0);
    snprintf(path, sizeof path, "%s/missing.bin", test_tmpdir());
    CHECK_EQ_INT(rt_sha256_file_hex(path, hex), RT_ERR_IO);
    CHECK_CONTAINS(rt_error(), "missing.bin");
}

int main(void) {
    TEST_RUN(test_known_vectors);
    TEST_RUN(test_million_a_in_odd_pieces);
    TEST_RUN(test_padding_boundaries);
    TEST_RUN(test_file);
    return test_finish();
}
