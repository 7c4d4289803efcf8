/**
 * Opens TUN interface `Deno.args[0]` with the device layer alone (no npm imports, so
 * it runs as any user with an empty DENO_DIR) and prints the error message or "opened".
 */
import { TunDevice } from "../../transports/tun_device.ts";

try {
  const d = TunDevice.open(Deno.args[0]);
  console.log("opened");
  await d.close();
} catch (e) {
  console.log((e as Error).message);
}
