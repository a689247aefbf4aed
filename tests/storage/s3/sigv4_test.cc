#include "storage/s3/sigv4.h"

#include "gtest/gtest.h"

namespace ty {
namespace {

// AWS's published example "GET Object" (Signature Version 4, "Examples of signature
// calculations"): the first ten bytes of examplebucket/test.txt.
SigV4Request aws_get_object_example() {
  SigV4Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.payload_sha256 = sha256_hex("");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", r.payload_sha256},
               {"x-amz-date", "20130524T000000Z"}};
  return r;
}

const SigV4Credentials kAwsExample{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

TEST(SigV4, EmptyPayloadHashIsSha256OfNothing) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SigV4, CanonicalRequestOfAwsGetObjectExample) {
  EXPECT_EQ(canonical_request(aws_get_object_example()),
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SigV4, MatchesAwsPublishedGetObjectSignature) {
  EXPECT_EQ(sigv4_authorization(aws_get_object_example(), kAwsExample, "us-east-1", "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, AnyChangeToTheRequestChangesTheSignature) {
  const std::string base = sigv4_authorization(aws_get_object_example(), kAwsExample, "us-east-1", "20130524T000000Z");
  SigV4Request other = aws_get_object_example();
  other.headers[1].second = "bytes=0-10";
  EXPECT_NE(sigv4_authorization(other, kAwsExample, "us-east-1", "20130524T000000Z"), base);
  EXPECT_NE(sigv4_authorization(aws_get_object_example(), kAwsExample, "eu-west-1", "20130524T000000Z"), base);
  SigV4Credentials wrong = kAwsExample;
  wrong.secret_key.back() = 'X';
  EXPECT_NE(sigv4_authorization(aws_get_object_example(), wrong, "us-east-1", "20130524T000000Z"), base);
}

TEST(SigV4, HeaderOrderAndCaseAndSpacesDoNotMatter) {
  SigV4Request r = aws_get_object_example();
  std::swap(r.headers[0], r.headers[3]);
  r.headers[1] = {"RANGE", "  bytes=0-9  "};
  EXPECT_EQ(canonical_request(r), canonical_request(aws_get_object_example()));
}

TEST(SigV4, UriEncodingFollowsRfc3986) {
  EXPECT_EQ(uri_encode("a b/c~d_e.f-g*h", true), "a%20b/c~d_e.f-g%2Ah");
  EXPECT_EQ(uri_encode("a/b", false), "a%2Fb");
  EXPECT_EQ(uri_encode("é", false), "%C3%A9");
}

TEST(SigV4, QueryIsSortedAndEncodedWithEmptyValues) {
  EXPECT_EQ(canonical_query({{"prefix", "runs/a b"}, {"list-type", "2"}, {"uploads", ""}}),
            "list-type=2&prefix=runs%2Fa%20b&uploads=");
}

}  // namespace
}  // namespace ty
