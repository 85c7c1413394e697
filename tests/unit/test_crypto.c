/* SPDX-License-Identifier: ISC */
/* Cryptography (security.md §7, ENC-KEY and ENC-A … ENC-D of §11), the
 * CSPRNG helpers and sealing of secrets at rest. */
#include "unit.h"

#include <ctype.h>

#include "codec.h"
#include "crypto.h"

#define KEY  "test-access-key"
#define KEY2 "9fa6c870-8bb0-4e9b-b71e-4c223300156f"

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static bool contains(const void *hay, size_t n, const void *needle, size_t m)
{
	size_t i;

	for (i = 0; i + m <= n; i++)
		if (memcmp((const char *)hay + i, needle, m) == 0)
			return true;
	return false;
}

static void hex_of(const unsigned char *p, size_t n, char *out)
{
	kg_hex(p, n, out);
}

/* ---- hash primitives (RFC/FIPS vectors) ---- */

TEST(sha256_abc)
{
	unsigned char d[KG_SHA256_LEN];
	char hex[65];

	kg_sha256("abc", 3, d);
	hex_of(d, sizeof d, hex);
	CHECK_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	kg_sha256("", 0, d);
	hex_of(d, sizeof d, hex);
	CHECK_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(hmac_sha256_rfc4231_case2)
{
	unsigned char d[KG_SHA256_LEN];
	char hex[65];

	kg_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	hex_of(d, sizeof d, hex);
	CHECK_STR_EQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* ---- ENC-KEY: SHA1PRNG key derivation (§7.1) ---- */

static const struct {
	const char *key, *k128, *k256;
} enc_keys[] = {
	{ "test-access-key", "6f536770920007a4ebdbab7bc4237f83",
	  "6f536770920007a4ebdbab7bc4237f83791e4c2f4d2ac6d51629c1f18c7aaeed" },
	{ "9fa6c870-8bb0-4e9b-b71e-4c223300156f", "6de9c7fe5a9cd34b86611483e5124a8f",
	  "6de9c7fe5a9cd34b86611483e5124a8fdd1fc74c4f54543ee7cd43c5195a3198" },
	{ "k", "69a7bae3d37a83849ecef8f3ff9260b3",
	  "69a7bae3d37a83849ecef8f3ff9260b35e01555d75554530cfad8b045e55c714" },
};

TEST(enc_key_sha1prng_16)
{
	size_t i;

	for (i = 0; i < UNIT_COUNT(enc_keys); i++) {
		unsigned char out[16];
		char hex[33];

		kg_sha1prng(enc_keys[i].key, strlen(enc_keys[i].key), out, sizeof out);
		hex_of(out, sizeof out, hex);
		CHECK_STR_EQ(hex, enc_keys[i].k128);
	}
}

TEST(enc_key_sha1prng_32)
{
	size_t i;

	for (i = 0; i < UNIT_COUNT(enc_keys); i++) {
		unsigned char out[32];
		char hex[65];

		kg_sha1prng(enc_keys[i].key, strlen(enc_keys[i].key), out, sizeof out);
		hex_of(out, sizeof out, hex);
		CHECK_STR_EQ(hex, enc_keys[i].k256);
	}
}

TEST(enc_key_aeskey_derive_128)
{
	size_t i;

	for (i = 0; i < UNIT_COUNT(enc_keys); i++) {
		struct kg_aeskey k;
		char hex[65];

		memset(&k, 0xAA, sizeof k);
		kg_aeskey_derive(&k, enc_keys[i].key, KG_ENC_AES128);
		CHECK_INT_EQ(k.len, 16);
		hex_of(k.key, k.len, hex);
		CHECK_STR_EQ(hex, enc_keys[i].k128);
	}
}

TEST(enc_key_aeskey_derive_256)
{
	size_t i;

	for (i = 0; i < UNIT_COUNT(enc_keys); i++) {
		struct kg_aeskey k;
		char hex[65];

		memset(&k, 0xAA, sizeof k);
		kg_aeskey_derive(&k, enc_keys[i].key, KG_ENC_AES256);
		CHECK_INT_EQ(k.len, 32);
		hex_of(k.key, k.len, hex);
		CHECK_STR_EQ(hex, enc_keys[i].k256);
	}
}

/* The unsigned-carry implementation's output must NOT be produced. */
TEST(enc_key_not_unsigned_carry)
{
	struct kg_aeskey k;
	char hex[65];

	kg_aeskey_derive(&k, KEY, KG_ENC_AES256);
	hex_of(k.key, k.len, hex);
	CHECK(strcmp(hex, "6f536770920007a4ebdbab7bc4237f83791e4c2fb9999b10ab04cb6c2c1f8864") != 0);
}

/* ---- ENC-A … ENC-D: AES-CBC with a fixed IV ---- */

static const struct {
	const char *name, *key, *plain;
	enum kg_enctype type;
	const char *iv, *out;
} enc[] = {
	{ "ENC-A1", KEY, "admin", KG_ENC_AES128, "0123456789ABCDEF",
	  "0123456789ABCDEFhC24zyF6UjMJ4hYdg0Octw==" },
	{ "ENC-A2", KEY, "admin", KG_ENC_AES256, "0123456789ABCDEF",
	  "0123456789ABCDEFktnk72s93GqxwrdA0+jGbA==" },
	{ "ENC-A3", KEY, "P@ssw0rd!", KG_ENC_AES256, "0123456789ABCDEF",
	  "0123456789ABCDEFXITGPpllDMZsTvMtlROxwA==" },
	{ "ENC-B", KEY, "13800000000", KG_ENC_AES256, "abcdefghijklmnop",
	  "abcdefghijklmnopuQpoJWnufhMKG2UkH7lzXg==" },
	{ "ENC-C", KEY2, "admin", KG_ENC_AES256, "0123456789ABCDEF",
	  "0123456789ABCDEFxMSLODpYkaYHpLYiCdL08g==" },
	{ "ENC-D", KEY, "\xe5\xbc\xa0\xe4\xb8\x89@example.com", KG_ENC_AES128, "ZYXWVUTSRQPONMLK",
	  "ZYXWVUTSRQPONMLK+T23iYUhAUSrnDCRwvo2Hd8zKD1/GltxXuDvVw/Amwc=" },
};

static void check_encrypt(size_t i)
{
	struct kg_aeskey k;
	struct kbuf out = { 0 };

	kg_aeskey_derive(&k, enc[i].key, enc[i].type);
	CHECK_MSG(kg_appinfo_encrypt(&k, enc[i].iv, enc[i].plain, strlen(enc[i].plain), &out),
	          "%s: kg_appinfo_encrypt failed", enc[i].name);
	CHECK_STR_EQ(out.p, enc[i].out);
	kbuf_free(&out);
}

static void check_decrypt(size_t i)
{
	struct kg_aeskey k;
	struct kbuf out = { 0 };

	kg_aeskey_derive(&k, enc[i].key, enc[i].type);
	CHECK_MSG(kg_appinfo_decrypt(&k, enc[i].out, strlen(enc[i].out), &out),
	          "%s: kg_appinfo_decrypt failed", enc[i].name);
	CHECK_STR_EQ(out.p, enc[i].plain);
	kbuf_free(&out);
}

TEST(enc_a1_encrypt) { check_encrypt(0); }
TEST(enc_a2_encrypt) { check_encrypt(1); }
TEST(enc_a3_encrypt) { check_encrypt(2); }
TEST(enc_b_encrypt)  { check_encrypt(3); }
TEST(enc_c_encrypt)  { check_encrypt(4); }
TEST(enc_d_encrypt)  { check_encrypt(5); }
TEST(enc_a1_decrypt) { check_decrypt(0); }
TEST(enc_a2_decrypt) { check_decrypt(1); }
TEST(enc_a3_decrypt) { check_decrypt(2); }
TEST(enc_b_decrypt)  { check_decrypt(3); }
TEST(enc_c_decrypt)  { check_decrypt(4); }
TEST(enc_d_decrypt)  { check_decrypt(5); }

/* ENC-D as a V1 query value: URL-decode first, then decrypt. */
TEST(enc_d_from_url_encoded_query_value)
{
	static const char q[] = "ZYXWVUTSRQPONMLK%2BT23iYUhAUSrnDCRwvo2Hd8zKD1%2FGltxXuDvVw%2FAmwc%3D";
	struct kbuf dec = { 0 }, out = { 0 };
	struct kg_aeskey k;

	CHECK(kg_url_decode(q, sizeof q - 1, KG_URL_FORM, &dec));
	CHECK_STR_EQ(dec.p, "ZYXWVUTSRQPONMLK+T23iYUhAUSrnDCRwvo2Hd8zKD1/GltxXuDvVw/Amwc=");
	kg_aeskey_derive(&k, KEY, KG_ENC_AES128);
	CHECK(kg_appinfo_decrypt(&k, dec.p, dec.len, &out));
	CHECK_STR_EQ(out.p, "\xe5\xbc\xa0\xe4\xb8\x89@example.com");
	kbuf_free(&dec);
	kbuf_free(&out);
}

/* D24 tolerance applies to the Base64 part: URL-safe alphabet, no padding, line breaks. */
TEST(decrypt_tolerant_base64)
{
	static const char v[] = "ZYXWVUTSRQPONMLK-T23iYUhAUSrnDCRwvo2Hd8zKD1_Glt\r\nxXuDvVw_Amwc";
	struct kbuf out = { 0 };
	struct kg_aeskey k;

	kg_aeskey_derive(&k, KEY, KG_ENC_AES128);
	CHECK(kg_appinfo_decrypt(&k, v, sizeof v - 1, &out));
	CHECK_STR_EQ(out.p, "\xe5\xbc\xa0\xe4\xb8\x89@example.com");
	kbuf_free(&out);
}

TEST(decrypt_wrong_key_fails)
{
	struct kg_aeskey k;
	struct kbuf out = { 0 };
	size_t i;

	/* ENC-A2 (AES-256 of test-access-key) under the AES-256 key of another access key */
	kg_aeskey_derive(&k, KEY2, KG_ENC_AES256);
	CHECK(!kg_appinfo_decrypt(&k, enc[1].out, strlen(enc[1].out), &out));
	/* ENC-C under the AES-256 key of test-access-key */
	kg_aeskey_derive(&k, KEY, KG_ENC_AES256);
	CHECK(!kg_appinfo_decrypt(&k, enc[4].out, strlen(enc[4].out), &out));
	/* every vector under the other key length of its own access key (D16 tries both) */
	for (i = 0; i < UNIT_COUNT(enc); i++) {
		kg_aeskey_derive(&k, enc[i].key, enc[i].type == KG_ENC_AES128 ? KG_ENC_AES256 : KG_ENC_AES128);
		CHECK_MSG(!kg_appinfo_decrypt(&k, enc[i].out, strlen(enc[i].out), &out),
		          "%s decrypted with the wrong key length", enc[i].name);
	}
	CHECK_INT_EQ(out.len, 0);
	kbuf_free(&out);
}

/* The IV is part of the value: another IV gives another (failed or wrong) plaintext. */
TEST(decrypt_wrong_iv_does_not_give_plaintext)
{
	struct kg_aeskey k;
	struct kbuf out = { 0 };
	char v[64];

	kg_aeskey_derive(&k, KEY, KG_ENC_AES256);
	strcpy(v, enc[2].out);
	v[0] = '1';
	if (kg_appinfo_decrypt(&k, v, strlen(v), &out))
		CHECK(strcmp(out.p, "P@ssw0rd!") != 0);
	kbuf_free(&out);
}

TEST(decrypt_truncated_or_garbage_fails)
{
	static const char *const bad[] = {
		"",
		"0123456789ABCDE",
		"0123456789ABCDEF",
		"0123456789ABCDEFktnk72s93GqxwrdA0+jGb",       /* Base64 cut in a quantum */
		"0123456789ABCDEFktnk72s93Gqx",                 /* 15 bytes of ciphertext */
		"0123456789ABCDEFktnk72s93GqxwrdA0+jGbA==AAAA", /* data after padding */
		"0123456789ABCDEFktnk72s93GqxwrdA0+jGbA==ktnk72s93GqxwrdA0+jGbA==",
		"0123456789ABCDEF!!!!!!!!!!!!!!!!!!!!!!!!",
		"0123456789ABCDEFAAAAAAAAAAAAAAAAAAAAAA==",     /* 16 zero bytes: bad padding */
		"ktnk72s93GqxwrdA0+jGbA==",                     /* IV missing */
	};
	struct kg_aeskey k;
	struct kbuf out = { 0 };
	size_t i;

	kg_aeskey_derive(&k, KEY, KG_ENC_AES256);
	for (i = 0; i < UNIT_COUNT(bad); i++)
		CHECK_MSG(!kg_appinfo_decrypt(&k, bad[i], strlen(bad[i]), &out),
		          "decrypted bad input \"%s\"", bad[i]);
	CHECK_INT_EQ(out.len, 0);
	kbuf_free(&out);
}

/* Valid padding but a non-UTF-8 plaintext is refused (§7.2, D16). */
TEST(decrypt_rejects_non_utf8_plaintext)
{
	struct kg_aeskey k;
	struct kbuf ct = { 0 }, out = { 0 };

	kg_aeskey_derive(&k, KEY, KG_ENC_AES256);
	CHECK(kg_appinfo_encrypt(&k, "0123456789ABCDEF", "\xff\xfe", 2, &ct));
	CHECK(!kg_appinfo_decrypt(&k, ct.p, ct.len, &out));
	kbuf_free(&ct);
	kbuf_free(&out);
}

TEST(random_iv_form_and_round_trip)
{
	struct kg_aeskey k;
	struct kbuf a = { 0 }, b = { 0 }, out = { 0 };
	size_t i;

	kg_aeskey_derive(&k, KEY, KG_ENC_AES256);
	CHECK(kg_appinfo_encrypt(&k, NULL, "admin", 5, &a));
	CHECK(kg_appinfo_encrypt(&k, NULL, "admin", 5, &b));
	CHECK_INT_EQ(a.len, 16 + 24);
	for (i = 0; i < 16; i++)
		CHECK_MSG(strchr(alnum, a.p[i]) && a.p[i], "IV character %zu is '%c'", i, a.p[i]);
	CHECK(memcmp(a.p, b.p, 16) != 0);
	CHECK(kg_appinfo_decrypt(&k, a.p, a.len, &out));
	CHECK_STR_EQ(out.p, "admin");
	kbuf_free(&a);
	kbuf_free(&b);
	kbuf_free(&out);
}

/* D17: 31-byte plaintexts give at most 60 characters; round trip for all lengths. */
TEST(round_trip_lengths)
{
	struct kg_aeskey k;
	char plain[64];
	size_t n;

	memset(plain, 'x', sizeof plain);
	for (int t = 1; t <= 2; t++) {
		kg_aeskey_derive(&k, KEY, (enum kg_enctype)t);
		for (n = 0; n <= 48; n++) {
			struct kbuf ct = { 0 }, out = { 0 };

			CHECK(kg_appinfo_encrypt(&k, NULL, plain, n, &ct));
			if (n <= 31)
				CHECK_MSG(ct.len <= 60, "length %zu gives %zu characters", n, ct.len);
			CHECK(kg_appinfo_decrypt(&k, ct.p, ct.len, &out));
			CHECK_MEM_EQ(out.p ? out.p : "", out.len, plain, n);
			kbuf_free(&ct);
			kbuf_free(&out);
		}
	}
}

/* ---- sealing ---- */

static const unsigned char master[KG_MASTER_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

TEST(seal_round_trip)
{
	static const char secret[] = "test-client-secret-0001";
	struct kbuf s = { 0 }, out = { 0 };

	kg_seal(master, secret, sizeof secret - 1, &s);
	CHECK_INT_EQ(s.len, 12 + (sizeof secret - 1) + 16);
	CHECK(!contains(s.p, s.len, secret, sizeof secret - 1));
	CHECK(kg_unseal(master, s.p, s.len, &out));
	CHECK_MEM_EQ(out.p, out.len, secret, sizeof secret - 1);
	kbuf_free(&s);
	kbuf_free(&out);
}

TEST(seal_empty_round_trip)
{
	struct kbuf s = { 0 }, out = { 0 };

	kg_seal(master, "", 0, &s);
	CHECK_INT_EQ(s.len, 28);
	CHECK(kg_unseal(master, s.p, s.len, &out));
	CHECK_INT_EQ(out.len, 0);
	kbuf_free(&s);
	kbuf_free(&out);
}

TEST(seal_uses_fresh_nonce)
{
	struct kbuf a = { 0 }, b = { 0 };

	kg_seal(master, "same", 4, &a);
	kg_seal(master, "same", 4, &b);
	CHECK(a.len == b.len);
	CHECK(memcmp(a.p, b.p, 12) != 0);
	CHECK(memcmp(a.p, b.p, a.len) != 0);
	kbuf_free(&a);
	kbuf_free(&b);
}

/* Flipping any byte (nonce, ciphertext or tag) is detected. */
TEST(unseal_detects_tampering)
{
	static const char secret[] = "s3cr3t";
	struct kbuf s = { 0 }, out = { 0 };
	size_t i;

	kg_seal(master, secret, sizeof secret - 1, &s);
	for (i = 0; i < s.len; i++) {
		s.p[i] ^= 0x01;
		CHECK_MSG(!kg_unseal(master, s.p, s.len, &out), "flipped byte %zu accepted", i);
		s.p[i] ^= 0x01;
	}
	CHECK_INT_EQ(out.len, 0);
	CHECK(kg_unseal(master, s.p, s.len, &out));
	kbuf_free(&s);
	kbuf_free(&out);
}

TEST(unseal_wrong_master_key)
{
	unsigned char other[KG_MASTER_KEY_LEN];
	struct kbuf s = { 0 }, out = { 0 };

	memcpy(other, master, sizeof other);
	other[31] ^= 0x80;
	kg_seal(master, "secret", 6, &s);
	CHECK(!kg_unseal(other, s.p, s.len, &out));
	CHECK_INT_EQ(out.len, 0);
	kbuf_free(&s);
	kbuf_free(&out);
}

TEST(unseal_truncated)
{
	struct kbuf s = { 0 }, out = { 0 };
	size_t n;

	kg_seal(master, "secret", 6, &s);
	for (n = 0; n < s.len; n++)
		CHECK_MSG(!kg_unseal(master, s.p, n, &out), "accepted %zu of %zu bytes", n, s.len);
	kbuf_free(&s);
	kbuf_free(&out);
}

/* ---- CSPRNG helpers ---- */

static bool uuid_ok(const char *u)
{
	size_t i;

	if (strlen(u) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdef", u[i])) {
			return false;
		}
	}
	return u[14] == '4' && strchr("89ab", u[19]) != NULL;
}

TEST(random_uuid_format)
{
	char a[37], b[37];
	int i;

	for (i = 0; i < 200; i++) {
		kg_random_uuid(a);
		CHECK_MSG(uuid_ok(a), "bad UUID \"%s\"", a);
	}
	kg_random_uuid(b);
	CHECK(strcmp(a, b) != 0);
}

TEST(random_chars_stay_in_alphabet)
{
	static const char *const alphabets[] = { "abc", "x", alnum, "0123456789abcdef" };
	char out[2001];
	size_t a, i;

	for (a = 0; a < UNIT_COUNT(alphabets); a++) {
		const char *al = alphabets[a];
		size_t seen = 0;

		memset(out, 0x7f, sizeof out);
		kg_random_chars(out, 2000, al);
		CHECK(out[2000] == '\0');
		for (i = 0; i < 2000; i++)
			CHECK_MSG(out[i] && strchr(al, out[i]), "'%c' not in \"%s\"", out[i], al);
		/* every character of a small alphabet shows up in 2000 draws */
		for (i = 0; al[i]; i++)
			seen += memchr(out, al[i], 2000) != NULL;
		CHECK_INT_EQ(seen, strlen(al));
	}
}

TEST(random_chars_zero_length)
{
	char out[1] = { 'z' };

	kg_random_chars(out, 0, "abc");
	CHECK(out[0] == '\0');
}

TEST(random_bytes_differ)
{
	unsigned char a[32], b[32];

	kg_random(a, sizeof a);
	kg_random(b, sizeof b);
	CHECK(memcmp(a, b, sizeof a) != 0);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(sha256_abc),
		UNIT(hmac_sha256_rfc4231_case2),
		UNIT(enc_key_sha1prng_16),
		UNIT(enc_key_sha1prng_32),
		UNIT(enc_key_aeskey_derive_128),
		UNIT(enc_key_aeskey_derive_256),
		UNIT(enc_key_not_unsigned_carry),
		UNIT(enc_a1_encrypt),
		UNIT(enc_a2_encrypt),
		UNIT(enc_a3_encrypt),
		UNIT(enc_b_encrypt),
		UNIT(enc_c_encrypt),
		UNIT(enc_d_encrypt),
		UNIT(enc_a1_decrypt),
		UNIT(enc_a2_decrypt),
		UNIT(enc_a3_decrypt),
		UNIT(enc_b_decrypt),
		UNIT(enc_c_decrypt),
		UNIT(enc_d_decrypt),
		UNIT(enc_d_from_url_encoded_query_value),
		UNIT(decrypt_tolerant_base64),
		UNIT(decrypt_wrong_key_fails),
		UNIT(decrypt_wrong_iv_does_not_give_plaintext),
		UNIT(decrypt_truncated_or_garbage_fails),
		UNIT(decrypt_rejects_non_utf8_plaintext),
		UNIT(random_iv_form_and_round_trip),
		UNIT(round_trip_lengths),
		UNIT(seal_round_trip),
		UNIT(seal_empty_round_trip),
		UNIT(seal_uses_fresh_nonce),
		UNIT(unseal_detects_tampering),
		UNIT(unseal_wrong_master_key),
		UNIT(unseal_truncated),
		UNIT(random_uuid_format),
		UNIT(random_chars_stay_in_alphabet),
		UNIT(random_chars_zero_length),
		UNIT(random_bytes_differ),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
