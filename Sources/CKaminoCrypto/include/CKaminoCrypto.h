#ifndef CKAMINO_CRYPTO_H
#define CKAMINO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/// A thin shim over OpenSSL 3's libcrypto for JSON Web Token signatures: HMAC-SHA256,
/// RSA PKCS#1 v1.5 and ECDSA P-256 verification (and signing, for tests and tools), and
/// public keys from PEM or from JWK parameters (EVP_PKEY_fromdata). No cryptography is
/// implemented here: every operation is one libcrypto call sequence.

/// An opaque EVP_PKEY.
typedef struct kamino_pkey kamino_pkey;

/// Key types `kamino_pkey_kind` reports.
enum {
    KAMINO_PKEY_OTHER = 0,
    KAMINO_PKEY_RSA = 1,
    KAMINO_PKEY_EC_P256 = 2,
};

/// HMAC-SHA256 of `data` under `key` into `out` (32 bytes). Returns 1 on success.
int kamino_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t data_len, uint8_t out[32]);

/// Constant-time comparison (CRYPTO_memcmp): 1 when equal.
int kamino_equal_ct(const uint8_t *a, const uint8_t *b, size_t len);

/// A public key from PEM text ("PUBLIC KEY", "RSA PUBLIC KEY" or a "CERTIFICATE"); NULL when
/// none can be read.
kamino_pkey *kamino_pkey_public_from_pem(const char *pem, size_t len);

/// A private key from PEM text (for signing in tests and tools); NULL when none can be read.
kamino_pkey *kamino_pkey_private_from_pem(const char *pem, size_t len);

/// An RSA public key from a JWK's big-endian modulus `n` and exponent `e`; NULL on failure.
kamino_pkey *kamino_pkey_rsa_from_jwk(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len);

/// A P-256 public key from a JWK's big-endian coordinates `x` and `y` (32 bytes each);
/// NULL when they are not a point of the curve.
kamino_pkey *kamino_pkey_p256_from_jwk(const uint8_t x[32], const uint8_t y[32]);

/// KAMINO_PKEY_RSA, KAMINO_PKEY_EC_P256 or KAMINO_PKEY_OTHER.
int kamino_pkey_kind(const kamino_pkey *key);

/// The modulus size of an RSA key in bits (0 for other keys).
int kamino_pkey_bits(const kamino_pkey *key);

void kamino_pkey_free(kamino_pkey *key);

/// RS256: RSASSA-PKCS1-v1_5 with SHA-256. Returns 1 when `sig` is valid.
int kamino_verify_rs256(kamino_pkey *key, const uint8_t *data, size_t data_len, const uint8_t *sig, size_t sig_len);

/// ES256: ECDSA P-256 with SHA-256, `sig` as JWS's raw r||s (64 bytes). Returns 1 when valid.
int kamino_verify_es256(kamino_pkey *key, const uint8_t *data, size_t data_len, const uint8_t *sig, size_t sig_len);

/// RS256 signature into `out` (capacity `cap`); returns its length, or 0 on failure.
size_t kamino_sign_rs256(kamino_pkey *key, const uint8_t *data, size_t data_len, uint8_t *out, size_t cap);

/// ES256 signature as raw r||s into `out` (64 bytes); returns 64, or 0 on failure.
size_t kamino_sign_es256(kamino_pkey *key, const uint8_t *data, size_t data_len, uint8_t out[64]);

#endif
