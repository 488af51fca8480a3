import { findPulumi } from "../tools/pulumi-cli";
import { packedPackage } from "../tools/packed-package";

/**
 * Before any test process starts: the `pulumi` CLI must be there (the end-to-end suites run
 * through it; without it the run fails and says how to get one, it never skips), and the built
 * package is packed once (test processes inherit RIG_PACKAGE_TGZ).
 */
export default function setup(): void {
  findPulumi();
  process.env.RIG_PACKAGE_TGZ = packedPackage();
}
