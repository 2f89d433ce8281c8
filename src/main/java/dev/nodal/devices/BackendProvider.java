package dev.nodal.devices;

import dev.nodal.backend.Backend;

/**
 * A backend of one's own, found through {@link java.util.ServiceLoader}: list the class in
 * {@code META-INF/services/dev.nodal.devices.BackendProvider} (or {@code provides} it in a module
 * descriptor), and the selector {@code name} or {@code name:anything} opens it wherever a device
 * is chosen ({@link Backends#open(String)}, {@link Device#named}, the command line's
 * {@code --device}).
 *
 * <p>A provider has a public no-argument constructor. Its name is lower case letters, digits and
 * {@code -}, and may not be one of Nodal's own selectors ({@code auto}, {@code cpu}, {@code
 * opencl}, {@code all}); two providers may not share a name. Either is an error that names the
 * provider's class (both classes, for a shared name) when a selector is resolved.
 */
public interface BackendProvider {
  /** The selector's first part, before any {@code :}. */
  String name();

  /** One line for listings: what the backend runs on. */
  default String description() {
    return getClass().getName();
  }

  /**
   * Opens the backend that {@code selector} names: {@code name()} itself, or {@code name():rest},
   * whose rest the provider reads as it likes; throws IllegalArgumentException, naming the
   * selector, for a rest it does not understand.
   */
  Backend open(String selector);

  /**
   * As {@link #open(String)}, for a program that opens backends with {@code options}
   * ({@link Backends#open(String, NodalOptions)}): a provider whose backend has settings of the
   * same kind (a CPU backend's, say) reads them here. By default, {@link #open(String)}.
   */
  default Backend open(String selector, NodalOptions options) {
    return open(selector);
  }
}
